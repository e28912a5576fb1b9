"""Checkouts and status changes while MongoDB's primary steps down: no order lost, the app recovers.

CI's `stepdown` job (.github/workflows/ci.yml) runs it against `make run`'s launcher pointed at a
three-member replica set. Shoppers place orders and pay them and staff ship them, over HTTP, from a
few threads; a third of the way in, the primary is told to step down (``replSetStepDown``) and an
election follows. At the end every order the API acknowledged (201) is read back: it must exist
with the last status the API acknowledged for it. No answer may be a 500; 503s are counted as the
gap. Exits 1 on a lost order, a wrong status, a 500, or no successful checkout after the step-down.

    python scripts/mongo_stepdown.py --url http://127.0.0.1:8000 \\
        --mongodb-uri "mongodb://localhost:27017,localhost:27018,localhost:27019/?replicaSet=rs0"

``--no-stepdown`` runs the same load without it (against the embedded MongoDB, which has no
replica set: tests/e2e/test_mongo_stepdown.py runs it so the script stays working).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

ADDRESS = {"full_name": "Ana", "line1": "Calle Mayor 1", "city": "Madrid", "postal_code": "28013", "country": "ES"}


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: dict[str, str] = field(default_factory=dict)  # order id -> last status the API acknowledged
    checkouts_after_stepdown: int = 0
    first_success_after_stepdown: float | None = None
    transport_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def login(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    response = http.post("/api/auth/token/", json={"email": email, "password": password})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access']}"}


def shopper_loop(args: argparse.Namespace, tally: Tally, stop: threading.Event, stepped_down: dict[str, float],
                 auth: dict[str, dict[str, str]], products: list[str]) -> None:  # fmt: skip
    """Place an order, pay it, have staff ship it; again until ``stop``."""
    with httpx.Client(base_url=args.url, timeout=30, trust_env=False) as http:
        while not stop.is_set():

            def call(method: str, path: str, who: str, body: dict) -> httpx.Response | None:
                try:
                    response = http.request(method, path, headers=auth[who], json=body)
                except httpx.TransportError:
                    with tally.lock:
                        tally.transport_errors += 1
                    return None
                with tally.lock:
                    tally.statuses[response.status_code] += 1
                return response

            lines = [{"product_id": random.choice(products), "quantity": 1}]  # noqa: S311 - load, not secrets
            placed = call("POST", "/api/orders/", "shopper", {"lines": lines, "address": ADDRESS})
            if placed is None or placed.status_code != 201:
                time.sleep(0.2)
                continue
            order = str(placed.json()["id"])
            with tally.lock:
                tally.acknowledged[order] = "pending"
                if "at" in stepped_down:
                    tally.checkouts_after_stepdown += 1
                    if tally.first_success_after_stepdown is None:
                        tally.first_success_after_stepdown = time.monotonic() - stepped_down["at"]
            for who, path, body, status in (
                ("shopper", f"/api/orders/{order}/pay/", {}, "paid"),
                ("staff", f"/api/orders/{order}/status/", {"status": "shipped"}, "shipped"),
            ):
                answer = call("POST", path, who, body)
                if answer is None or answer.status_code != 200:
                    break
                with tally.lock:
                    tally.acknowledged[order] = status


def step_down(uri: str) -> str:
    """Ask the primary to step down for 10 s; the name of the member that was primary."""
    import pymongo
    from pymongo.errors import AutoReconnect

    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
        primary = client.admin.command("hello")["primary"]
        with contextlib.suppress(AutoReconnect):  # the primary drops its connections as it steps down
            client.admin.command("replSetStepDown", 10)
    return primary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--mongodb-uri", help="the replica set (its primary is stepped down)")
    parser.add_argument("--no-stepdown", action="store_true", help="the load and the checks only")
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--password", default="tienda-demo")
    parser.add_argument("--staff-email", default="admin@example.com")
    parser.add_argument("--shopper-email", default="shopper@example.com")
    args = parser.parse_args(argv)
    if not args.no_stepdown and not args.mongodb_uri:
        parser.error("--mongodb-uri is required unless --no-stepdown")

    with httpx.Client(base_url=args.url, timeout=30, trust_env=False) as http:
        auth = {"staff": login(http, args.staff_email, args.password),
                "shopper": login(http, args.shopper_email, args.password)}  # fmt: skip
        listed = http.get("/api/products/", params={"in_stock": 1, "page_size": 50}).json()["results"]
    products = [row["id"] for row in listed]

    tally, stop, stepped_down = Tally(), threading.Event(), {}
    threads = [threading.Thread(target=shopper_loop, args=(args, tally, stop, stepped_down, auth, products))
               for _ in range(args.threads)]  # fmt: skip
    for thread in threads:
        thread.start()
    time.sleep(args.seconds / 3)
    if not args.no_stepdown:
        primary = step_down(args.mongodb_uri)
        stepped_down["at"] = time.monotonic()
        print(f"stepped down the primary {primary} at {args.seconds / 3:.0f} s", flush=True)
    time.sleep(args.seconds * 2 / 3)
    stop.set()
    for thread in threads:
        thread.join()

    problems = []
    with httpx.Client(base_url=args.url, timeout=30, trust_env=False) as http:
        for order, status in sorted(tally.acknowledged.items()):
            response = http.get(f"/api/orders/{order}/", headers=auth["staff"])
            if response.status_code != 200:
                problems.append(f"order {order}: acknowledged, now {response.status_code}")
            elif response.json()["status"] != status:
                problems.append(f"order {order}: acknowledged {status}, stored {response.json()['status']}")
    if tally.statuses[500]:
        problems.append(f"{tally.statuses[500]} answers were 500")
    if not args.no_stepdown and not tally.checkouts_after_stepdown:
        problems.append("no checkout succeeded after the step-down: the app did not recover")
    print(f"orders acknowledged: {len(tally.acknowledged)}; problems: {len(problems)}", flush=True)
    print(f"answers: {dict(sorted(tally.statuses.items()))}; transport errors: {tally.transport_errors}")
    if not args.no_stepdown:
        print(f"checkouts after the step-down: {tally.checkouts_after_stepdown}; the first "
              f"{tally.first_success_after_stepdown or float('nan'):.1f} s after it")  # fmt: skip
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
