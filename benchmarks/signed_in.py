"""Signed-in shoppers against anonymous visitors on the catalog pages, and MongoDB per signed-in page.

Run `make run` in one terminal (DEBUG off, its default), then:
    .venv/bin/python benchmarks/signed_in.py [--url http://127.0.0.1:8000] [--mongodb-uri ...]

The shopper signs in through the login form (the demo shopper, DEMO_PASSWORD), puts a product in
the cart and places one order (so the header shows a cart count and a pending-orders badge; the
order is cancelled at the end; a shopper already holding the most unpaid orders allowed keeps
them). Then, for the category page, the product page, search and the product list API (with a
token for the signed-in rows):

1. anonymous (no cookie) and signed-in (the session cookie) requests, 8 keep-alive connections
   from a client pinned to the last CPU, in alternating turns (``--rounds``, the requests and
   seconds of a phase shared among them) so that both kinds see the same machine: req/s, p50, p99;
2. MongoDB per signed-in view: the MongoDB server's ``serverStatus`` opcounters before and after
   sequential warm views (the smallest of five windows, so the upkeep jobs' queries every 30 s
   do not count), less the benchmark's own ``serverStatus`` calls;
3. the same signed-in and anonymous pages, in the same alternating turns, while two more
   connections browse listing URLs with filter combinations nobody asked before (each one a
   MongoDB query): p50, p99.

Targets: signed-in req/s at least 0.6 of anonymous; 0 MongoDB operations per warm signed-in view;
signed-in p50 under 50 ms beside the uncached browsing. Figures of uncached pages measure
mongoeco (the local stand-in, SQLite engine), not MongoDB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import Result, run_load
from push import pin_to_last_core

ADDRESS = {
    "full_name": "Bench Shopper", "line1": "Calle Mayor 1", "city": "Madrid", "postal_code": "28013", "country": "ES",
}  # fmt: skip
COUNTED = ("insert", "query", "update", "delete", "getmore", "command")
RATIO_TARGET = 0.6
WINDOWS = 5
P50_TARGET_MS = 50.0


class Shopper:
    """The demo shopper signed in on the site (a session cookie) and on the API (a token)."""

    def __init__(self, base: str, email: str, password: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        self.email, self.password = email, password
        self.token = ""
        self.order_id = ""

    def _form(self, path: str, data: dict[str, str], page: str | None = None) -> httpx.Response:
        html = self.http.get(page or path).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if token is None:
            raise SystemExit(f"no CSRF token on {page or path}")
        return self.http.post(path, data={"csrfmiddlewaretoken": token.group(1), **data})

    def sign_in(self, product: dict[str, Any]) -> None:
        response = self._form("/account/login/", {"username": self.email, "password": self.password})
        if response.status_code != 302:
            raise SystemExit(f"signing in as {self.email} failed ({response.status_code}): set DEMO_PASSWORD")
        self._form("/orders/cart/add/", {"product_id": product["id"], "quantity": "1"}, page=f"/p/{product['slug']}/")
        tokens = self.http.post("/api/auth/token/", json={"email": self.email, "password": self.password}).json()
        self.token = tokens["access"]
        order = self.http.post(
            "/api/orders/", json={"lines": [{"product_id": product["id"], "quantity": 1}], "address": ADDRESS},
            headers={"Authorization": f"Bearer {self.token}"},
        )  # fmt: skip
        if order.status_code == 201:
            self.order_id = order.json()["id"]
        elif order.json().get("code") != "too_many_pending_orders":  # at the cap: the badge shows those
            raise SystemExit(f"placing the shopper's order failed ({order.status_code}): {order.text[:300]}")

    @property
    def cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    def headers(self, path: str) -> dict[str, str]:
        """What a signed-in client sends: the API's token, or the site's cookies."""
        if path.startswith("/api/"):
            return {"Authorization": f"Bearer {self.token}"}
        return {"Cookie": self.cookie}

    def signed_in_on(self, path: str) -> bool:
        page = self.http.get(path).text
        return 'action="/account/logout/"' in page

    def clean_up(self) -> None:
        if self.order_id:
            self.http.post(f"/api/orders/{self.order_id}/cancel/", headers={"Authorization": f"Bearer {self.token}"})


def operations(mongodb_uri: str) -> Any:
    """A function answering the MongoDB server's opcounters total (less this call's own command)."""
    from pymongo import MongoClient

    client = MongoClient(mongodb_uri, serverSelectionTimeoutMS=10_000)

    def total() -> tuple[int, int]:
        counters = client.admin.command("serverStatus")["opcounters"]
        return sum(counters[name] for name in COUNTED), counters["query"]

    return total


def mongodb_per_view(base: str, path: str, headers: dict[str, str], count: Any, views: int) -> dict[str, float]:
    """MongoDB operations (all opcounters) and queries (the 'query' counter) per warm view: the
    smallest of ``WINDOWS`` windows (the upkeep jobs query MongoDB every 30 s)."""
    samples = []
    with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
        client.get(path)
        for _window in range(WINDOWS):
            ops_before, queries_before = count()
            for _view in range(views):
                client.get(path)
            ops_after, queries_after = count()
            # One serverStatus call lands between the two readings: its own command counts.
            samples.append(((ops_after - ops_before - 1) / views, (queries_after - queries_before) / views))
    operations_per_view, queries_per_view = min(samples)
    return {"operations": operations_per_view, "queries": queries_per_view}


def row(result: Result) -> str:
    return (f"| {result.name} | {result.requests} | {result.rps:,.1f} | {result.p50:.2f} | {result.p99:.2f} | "
            f"{dict(sorted(result.statuses.items()))} |")  # fmt: skip


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--mongodb-uri", default=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27018/tienda"))
    parser.add_argument("--email", default="shopper@example.com")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "tienda-demo"))
    parser.add_argument("--category", default="books")
    parser.add_argument("--requests", type=int, default=2000, help="per phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=20, help="per phase")
    parser.add_argument("--rounds", type=int, default=4, help="alternating anonymous/signed-in turns per phase")
    parser.add_argument("--views", type=int, default=50, help="sequential views per MongoDB window")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    affinity = pin_to_last_core()
    base = args.url.rstrip("/")

    listing = httpx.get(f"{base}/api/products/?category={args.category}&in_stock=true&page_size=2", timeout=60).json()
    product = listing["results"][0]
    pages = {
        "category page": f"/c/{args.category}/",
        "product page": f"/p/{product['slug']}/",
        "search": "/search/?q=cotton",
        "product list API": f"/api/products/?category={args.category}",
    }
    shopper = Shopper(base, args.email, args.password)
    shopper.sign_in(listing["results"][1])
    if not shopper.signed_in_on(pages["category page"]):
        raise SystemExit("the session cookie does not sign the shopper in")
    count = operations(args.mongodb_uri)
    nonce = random.randrange(100_000, 900_000)  # noqa: S311 - fresh filter values each run

    async def side_by_side(name: str, path: str) -> tuple[Result, Result]:
        """Anonymous and signed-in load on ``path`` in ``--rounds`` alternating turns (anonymous first in the
        first round, signed in first in the next, and so on), so that both kinds meet the same machine: a
        ratio of two phases run one after the other measures whatever else the machine did in each."""
        turns: dict[str, list[Result]] = {"anonymous": [], "signed in": []}
        kinds = {"anonymous": None, "signed in": shopper.headers(path)}
        for round_number in range(args.rounds):
            order = list(kinds) if round_number % 2 == 0 else list(reversed(kinds))
            for kind in order:
                turns[kind].append(await run_load(
                    kind, base, lambda i: path, requests=max(1, args.requests // args.rounds),
                    concurrency=args.concurrency, max_seconds=args.max_seconds / args.rounds, headers=kinds[kind],
                ))  # fmt: skip
        anonymous, signed_in = (Result.merged(f"{name}, {kind}", turns[kind]) for kind in kinds)
        pairs = zip(turns["anonymous"], turns["signed in"], strict=True)
        per_round = ", ".join(f"{signed.rps / anonymous.rps:.2f}" for anonymous, signed in pairs)
        print(row(anonymous), flush=True)
        print(row(signed_in), flush=True)
        print(f"|   signed-in / anonymous req/s per round: {per_round} | | | | | |", flush=True)
        return anonymous, signed_in

    async def uncached_browsing(stop: asyncio.Event) -> Result:
        """Two connections asking listing questions nobody asked before, until ``stop``."""
        results = []
        batch = 0
        while not stop.is_set():
            start = nonce + batch * 1000

            def uncached(i: int, start: int = start) -> str:
                return f"/c/{args.category}/?min_price=0.{i % 100:02d}&max_price={start + i}"

            results.append(
                await run_load("uncached", base, uncached, requests=1000, concurrency=2, max_seconds=2, stop=stop)
            )
            batch += 1
        return Result.merged("uncached browsing (2 connections)", results)

    figures: dict[str, Any] = {"pages": {}, "beside_uncached": {}}
    for path in pages.values():  # warm every path for both kinds of client
        for headers in (None, shopper.headers(path)):
            await run_load("warm", base, lambda i, path=path: path, requests=20, concurrency=2, max_seconds=60,
                           headers=headers)  # fmt: skip
    print(f"\n{affinity}; concurrency {args.concurrency}; server {base}\n")
    print("| phase | requests | req/s | p50 ms | p99 ms | statuses |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, path in pages.items():
        anonymous, signed_in = await side_by_side(name, path)
        mongodb = mongodb_per_view(base, path, shopper.headers(path), count, args.views)
        figures["pages"][name] = {"path": path, "anonymous": summary(anonymous), "signed_in": summary(signed_in),
                                  "mongodb_per_signed_in_view": mongodb}  # fmt: skip
    stop = asyncio.Event()
    background = asyncio.create_task(uncached_browsing(stop))
    await asyncio.sleep(1)
    for name, path in pages.items():
        if name == "product list API":
            continue
        anonymous, signed_in = await side_by_side(f"{name}, beside uncached browsing", path)
        figures["beside_uncached"][name] = {"anonymous": summary(anonymous), "signed_in": summary(signed_in)}
    stop.set()
    uncached = await background
    print(row(uncached))
    figures["uncached_browsing"] = summary(uncached)
    still_signed_in = shopper.signed_in_on(pages["category page"])
    shopper.clean_up()

    print("\n| page | signed-in / anonymous req/s | MongoDB operations (queries) per signed-in view "
          "| signed-in p50 / p99 beside uncached browsing |")  # fmt: skip
    print("| --- | --- | --- | --- |")
    for name, page in figures["pages"].items():
        ratio = page["signed_in"]["rps"] / page["anonymous"]["rps"]
        page["ratio"] = ratio
        mongodb = page["mongodb_per_signed_in_view"]
        beside = figures["beside_uncached"].get(name)
        latency = f"{beside['signed_in']['p50_ms']:.1f} / {beside['signed_in']['p99_ms']:.1f} ms" if beside else "—"
        print(f"| {name} | {page['signed_in']['rps']:,.0f} / {page['anonymous']['rps']:,.0f} = {ratio:.2f} "
              f"(target ≥ {RATIO_TARGET}) | {mongodb['operations']:.2f} ({mongodb['queries']:.2f}) (target 0) "
              f"| {latency} (target p50 < {P50_TARGET_MS:.0f} ms) |")  # fmt: skip
    print(f"\nload average {os.getloadavg()[0]:.2f}; still signed in at the end: {still_signed_in}")
    figures["still_signed_in"] = still_signed_in
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    server_errors = sum(count for page in figures["pages"].values() for kind in ("anonymous", "signed_in")
                        for status, count in page[kind]["statuses"].items() if int(status) >= 500)  # fmt: skip
    return 1 if server_errors or not still_signed_in else 0


def summary(result: Result) -> dict[str, Any]:
    return {"requests": result.requests, "rps": result.rps, "p50_ms": result.p50, "p99_ms": result.p99,
            "statuses": result.statuses}  # fmt: skip


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
