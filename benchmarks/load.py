"""Bounded mixed load against a fresh `make run` launcher, then the invariants that must hold.

    .venv/bin/python benchmarks/load.py [--duration 300] [--warmup 120] [--report load.json]
    make load                     # the same, full length (LOAD_ARGS="--duration 600" to change it)

It starts `python -m devstack run` on free loopback ports in a temporary directory (MongoDB on
mongoeco's SQLite engine, Redis, uvicorn with DEBUG off), signs up shoppers over HTTP, makes a
few products scarce, and then for --duration seconds runs, all in this one asyncio process:

- browsers: anonymous home, category listing, product and search pages;
- API readers: product lists and details without a token, the shopper's orders with one;
- shoppers: checkouts of 1-2 scarce products (POST /api/orders/), then pay or cancel some;
- staff: status changes over the API (paid -> shipped -> delivered, cancellations);
- listeners: order sockets (the shoppers' lists and the staff dashboard), which count pushes
  and, as static/js/live.js does, take each order's newest state by its seq.

Each actor is a closed loop (no think time), so the rates are what the server sustains with
that many clients. It stops by itself after --duration; the launcher and its children stop
with it. Then it checks, from MongoDB: no 5xx answer, no unit oversold (per scarce product,
units in orders that are not cancelled + stock left == stock at the start), every order's
timeline complete and in sequence (seq 1..n, each entry starting where the last one ended,
only legal moves, ending at the order's status), and the app's memory flat after the warm-up
(VmRSS of the uvicorn process, sampled every second). Every listener's final resync must
agree with MongoDB. Exit status 1 when an invariant fails, 2 when the setup fails.

Figures on mongoeco measure the local stand-in, a correctness stand-in that is no model of
MongoDB's speed: they say how this stack holds up, not how the shop would on MongoDB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient
from redis import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.testing import descendants, running_stack, stack_env  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load_analytics import analytics_check, print_analytics  # noqa: E402
from _load_report import (  # noqa: E402
    LEGAL,
    cache_figures,
    check_listeners,
    check_stock,
    check_timelines,
    kinds_table,
    print_result,
    rss_figures,
    verdicts,
)
from _process import pin_to_last_core  # noqa: E402

PASSWORD = "load-test-password-1"  # noqa: S105 - accounts of a throwaway server
ADDRESS = {"full_name": "Load Test", "line1": "1 Test St", "city": "Madrid", "postal_code": "28001", "country": "ES"}
SEARCH_TERMS = ("cotton", "wool", "mug", "lamp", "bear", "solar", "classic", "blue")


class SetupError(RuntimeError):
    pass


# --- Recording -------------------------------------------------------------------------------


@dataclass
class Kind:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


@dataclass
class Run:
    """Everything the actors share: clients, what they learnt, what they measured."""

    http: httpx.AsyncClient
    deadline: float
    categories: list[str]
    product_slugs: list[str]
    product_ids: list[str]
    scarce: list[str]
    shoppers: list[str]  # access tokens
    staff: str
    kinds: dict[str, Kind] = field(default_factory=lambda: defaultdict(Kind))
    orders: dict[str, str] = field(default_factory=dict)  # order id -> last status we know of
    order_owner: dict[str, str] = field(default_factory=dict)  # order id -> token of its owner
    started: float = field(default_factory=time.monotonic)

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    async def request(
        self, kind: str, method: str, url: str, token: str | None = None, **kw: Any
    ) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        begun = time.perf_counter()
        try:
            response = await self.http.request(method, url, headers=headers, **kw)
        except httpx.HTTPError as error:
            self.kinds[kind].errors.append(repr(error))
            return None
        tally = self.kinds[kind]
        tally.latencies_ms.append((time.perf_counter() - begun) * 1000)
        tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.errors.append(f"{response.status_code} {url}: {response.text[:200]}")
        return response


# --- Actors ------------------------------------------------------------------------------------


async def browser(run: Run, rng: random.Random) -> None:
    while run.running():
        choice = rng.random()
        if choice < 0.15:
            await run.request("page:home", "GET", "/")
        elif choice < 0.50:
            slug, page, sort = rng.choice(run.categories), rng.randint(1, 2), rng.choice(("newest", "price", "-price"))
            await run.request("page:listing", "GET", f"/c/{slug}/?page={page}&sort={sort}")
        elif choice < 0.85:
            await run.request("page:product", "GET", f"/p/{rng.choice(run.product_slugs)}/")
        else:
            await run.request("page:search", "GET", f"/search/?q={rng.choice(SEARCH_TERMS)}")


async def api_reader(run: Run, rng: random.Random) -> None:
    while run.running():
        choice = rng.random()
        if choice < 0.35:
            await run.request("api:products", "GET", f"/api/products/?category={rng.choice(run.categories)}")
        elif choice < 0.70:
            await run.request("api:product", "GET", f"/api/products/{rng.choice(run.product_ids)}/")
        elif choice < 0.90:
            await run.request("api:my-orders", "GET", "/api/orders/", token=rng.choice(run.shoppers))
        elif run.orders:
            order_id = rng.choice(list(run.orders))
            await run.request("api:order", "GET", f"/api/orders/{order_id}/", token=run.order_owner[order_id])


async def shopper(run: Run, rng: random.Random) -> None:
    while run.running():
        token = rng.choice(run.shoppers)
        lines = [
            {"product_id": pid, "quantity": rng.randint(1, 3)} for pid in rng.sample(run.scarce, rng.randint(1, 2))
        ]
        response = await run.request(
            "checkout", "POST", "/api/orders/", token, json={"lines": lines, "address": ADDRESS}
        )
        if response is None or response.status_code != 201:
            continue
        order = response.json()
        run.orders[order["id"]], run.order_owner[order["id"]] = order["status"], token
        choice = rng.random()
        if choice < 0.55:
            action = "pay"
        elif choice < 0.8:  # cancellations put units back, so the scarce products keep selling
            action = "cancel"
        else:
            continue
        answer = await run.request(f"shopper:{action}", "POST", f"/api/orders/{order['id']}/{action}/", token)
        if answer is not None and answer.status_code == 200:
            run.orders[order["id"]] = answer.json()["status"]


async def staff(run: Run, rng: random.Random) -> None:
    while run.running():
        open_orders = [order_id for order_id, status in run.orders.items() if status in LEGAL]
        if not open_orders:
            await asyncio.sleep(0.05)
            continue
        order_id = rng.choice(open_orders)
        current = run.orders[order_id]
        if current == "pending":
            to = "cancelled" if rng.random() < 0.5 else "paid"
        elif current == "paid":
            to = "cancelled" if rng.random() < 0.3 else "shipped"
        else:
            to = "delivered"
        response = await run.request(
            "staff:status", "POST", f"/api/orders/{order_id}/status/", run.staff, json={"status": to}
        )
        if response is not None and response.status_code == 200:
            run.orders[order_id] = response.json()["status"]
        elif response is not None and response.status_code == 409:  # someone else moved it first
            fresh = await run.request("staff:read", "GET", f"/api/orders/{order_id}/", run.staff)
            if fresh is not None and fresh.status_code == 200:
                run.orders[order_id] = fresh.json()["status"]


@dataclass
class Listener:
    """An order list socket that keeps each order's newest state by seq, as the pages do."""

    name: str
    token: str
    path: str
    seen: dict[str, tuple[int, str]] = field(default_factory=dict)  # order id -> (seq, status)
    pushes: int = 0
    older_pushes: int = 0  # pushes whose seq was below one already seen (arrived out of order)
    reconnects: int = 0
    final: dict[str, str] | None = None  # the last resync's order statuses, once stopped
    live_view: dict[str, str] = field(default_factory=dict)  # what pushes had shown just before it

    def apply(self, order: dict[str, Any]) -> None:
        seq, _ = self.seen.get(order["order_id"], (0, ""))
        if order["seq"] >= seq:
            self.seen[order["order_id"]] = (order["seq"], order["status"])

    async def listen(self, run: Run, stop: asyncio.Event) -> None:
        while not stop.is_set():
            ticket = await run.request("ws:ticket", "POST", "/api/auth/ws-ticket/", self.token)
            if ticket is None or ticket.status_code != 200:
                await asyncio.sleep(0.5)
                continue
            url = str(run.http.base_url).replace("http", "ws", 1).rstrip("/") + self.path
            try:
                async with connect(
                    f"{url}?ticket={ticket.json()['ticket']}", origin=str(run.http.base_url).rstrip("/")
                ) as ws:
                    await ws.send(json.dumps({"type": "resync", "since": 0}))
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.25)
                        except TimeoutError:
                            continue
                        self._handle(json.loads(raw))
                    await self._final_resync(ws)
                    return
            except (ConnectionClosed, OSError):
                self.reconnects += 1

    def _handle(self, message: dict[str, Any]) -> None:
        if message["type"] == "orders.resync":
            for order in message["orders"]:
                self.apply(order)
        elif message["type"] == "order.changed":
            self.pushes += 1
            if order := message["order"]:
                if order["seq"] < self.seen.get(order["order_id"], (0, ""))[0]:
                    self.older_pushes += 1
                self.apply(order)

    async def _final_resync(self, ws: Any) -> None:
        self.live_view = {order_id: status for order_id, (_seq, status) in self.seen.items()}
        await ws.send(json.dumps({"type": "resync", "since": 0}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if message["type"] == "orders.resync":
                self.final = {order["order_id"]: order["status"] for order in message["orders"]}
                return
            self._handle(message)


async def sample_rss(pid: int, samples: list[tuple[float, int]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        status = Path(f"/proc/{pid}/status").read_text()
        samples.append((time.monotonic(), int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


# --- Setup -------------------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not found:
        raise SetupError("no CSRF token on the page")
    return found.group(1)


async def api_token(http: httpx.AsyncClient, email: str) -> str:
    response = await http.post("/api/auth/token/", json={"email": email, "password": PASSWORD})
    if response.status_code != 200:
        raise SetupError(f"token for {email}: {response.status_code} {response.text[:200]}")
    return response.json()["access"]


async def sign_up(base_url: str, email: str) -> str:
    """A new shopper through the site's sign-up form, then an API token for them."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:  # its own cookies: sign-up logs in
        form = await http.get("/account/signup/")
        data = {"csrfmiddlewaretoken": csrf_token(form.text), "email": email, "full_name": "Load Shopper",
                "password1": PASSWORD, "password2": PASSWORD}  # fmt: skip
        response = await http.post("/account/signup/", data=data, headers={"Referer": f"{base_url}/account/signup/"})
        if response.status_code != 302:
            raise SetupError(f"sign-up of {email}: {response.status_code}")
        return await api_token(http, email)


def category_slugs(tree: list[dict[str, Any]]) -> list[str]:
    return [slug for node in tree for slug in (node["slug"], *category_slugs(node.get("children", [])))]


async def prepare(http: httpx.AsyncClient, args: argparse.Namespace) -> dict[str, Any]:
    staff_token = await api_token(http, "admin@example.com")
    shoppers = []
    for start in range(0, args.shoppers, 4):  # four at a time: each sign-up hashes two passwords
        batch = range(start, min(start + 4, args.shoppers))
        shoppers += await asyncio.gather(*(sign_up(str(http.base_url), f"load{i}@example.com") for i in batch))
    categories = category_slugs((await http.get("/api/categories/")).json())
    products = (await http.get("/api/products/?page_size=100&in_stock=true")).json()["results"]
    if len(products) < args.scarce_products + 10:
        raise SetupError(f"only {len(products)} products in stock; raise --catalog-size")
    scarce = [product["id"] for product in products[: args.scarce_products]]
    for product_id in scarce:
        response = await http.patch(
            f"/api/products/{product_id}/",
            json={"stock": args.scarce_stock},
            headers={"Authorization": f"Bearer {staff_token}"},
        )
        if response.status_code != 200:
            raise SetupError(f"making {product_id} scarce: {response.status_code} {response.text[:200]}")
    browse = products[args.scarce_products :]
    return {
        "staff": staff_token,
        "shoppers": shoppers,
        "categories": categories,
        "product_ids": [product["id"] for product in browse],
        "product_slugs": [product["slug"] for product in browse],
        "scarce": scarce,
    }


# --- Main --------------------------------------------------------------------------------------


async def drive(base_url: str, env: dict[str, str], app_pid: int, args: argparse.Namespace) -> dict[str, Any]:
    redis = Redis(port=int(env["REDIS_PORT"]))
    limits = httpx.Limits(max_connections=args.browsers + args.api + args.checkouts + args.staff + 16)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        print("==> Setting up: shoppers (sign-up over HTTP), staff token, scarce products", flush=True)
        setup_started = time.monotonic()
        ready = await prepare(http, args)
        print(f"    done in {time.monotonic() - setup_started:.1f} s", flush=True)
        redis.delete(*redis.keys("cache:shop:stats:*") or ["-"])  # count the load only
        samples: list[tuple[float, int]] = []
        stop_sampling, stop_listening = asyncio.Event(), asyncio.Event()
        sampler = asyncio.create_task(sample_rss(app_pid, samples, stop_sampling))
        run = Run(http, time.monotonic() + args.duration, ready["categories"], ready["product_slugs"],
                  ready["product_ids"], ready["scarce"], ready["shoppers"], ready["staff"])  # fmt: skip
        listeners = [
            Listener(f"shopper-{i}", token, "/ws/orders/")
            for i, token in enumerate(ready["shoppers"][: args.listeners])
        ]
        listeners += [Listener(f"staff-{i}", ready["staff"], "/ws/staff/orders/") for i in range(args.staff_listeners)]
        listening = [asyncio.create_task(listener.listen(run, stop_listening)) for listener in listeners]
        print(
            f"==> Load for {args.duration:.0f} s (warm-up {args.warmup:.0f} s), {len(listeners)} sockets listening",
            flush=True,
        )
        actors = [
            *(browser(run, random.Random(f"b{i}")) for i in range(args.browsers)),  # noqa: S311 - load mix, not secrets
            *(api_reader(run, random.Random(f"a{i}")) for i in range(args.api)),  # noqa: S311
            *(shopper(run, random.Random(f"s{i}")) for i in range(args.checkouts)),  # noqa: S311
            *(staff(run, random.Random(f"t{i}")) for i in range(args.staff)),  # noqa: S311
        ]
        await asyncio.gather(*actors)
        seconds = time.monotonic() - run.started
        await asyncio.sleep(1.0)  # the last pushes
        stop_listening.set()
        await asyncio.gather(*listening)
        stop_sampling.set()
        await sampler
        analytics = await analytics_check(http, ready["staff"], env, seconds=seconds, redis=redis)

    db = MongoClient(f"mongodb://127.0.0.1:{env['MONGODB_PORT']}/tienda?directConnection=true")["tienda"]
    table, figures = kinds_table(run.kinds, seconds)
    return {
        "cache": cache_figures(redis),
        "seconds": round(seconds, 1),
        "table": table,
        "kinds": figures,
        "server_errors": [error for kind in run.kinds.values() for error in kind.errors],
        "stock": check_stock(db, ready["scarce"], args.scarce_stock),
        "timelines": check_timelines(db),
        "sockets": check_listeners(db, listeners),
        "rss": rss_figures(samples, run.started, args.warmup),
        "analytics": analytics,
    }


KNOBS = (
    ("--duration", float, 300, "seconds of load"),
    ("--warmup", float, 120, "seconds before the RSS baseline (RSS levels off within ~2 min)"),
    ("--catalog-size", int, 500, "demo products to seed"),
    ("--shoppers", int, 20, "shopper accounts"),
    ("--browsers", int, 6, "concurrent anonymous browsers"),
    ("--api", int, 3, "concurrent API readers"),
    ("--checkouts", int, 4, "concurrent checking-out shoppers"),
    ("--staff", int, 2, "concurrent staff changing statuses"),
    ("--listeners", int, 10, "shopper order-list sockets"),
    ("--staff-listeners", int, 2, "staff dashboard sockets"),
    ("--scarce-products", int, 5, "products made scarce"),
    ("--scarce-stock", int, 10, "their stock at the start"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag, kind, default, text in KNOBS:
        parser.add_argument(flag, type=kind, default=default, help=f"{text} (default {default})")
    parser.add_argument("--report", type=Path, help="also write the figures and checks to this JSON file")
    args = parser.parse_args(argv)
    if args.warmup >= args.duration:
        parser.error("--warmup must be shorter than --duration")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(pin_to_last_core(), flush=True)
    with tempfile.TemporaryDirectory(prefix="tienda-load-") as tmp:
        env = stack_env(
            Path(tmp) / "var", DJANGO_DEBUG="0", DEMO_CATALOG_SIZE=str(args.catalog_size), DEMO_PASSWORD=PASSWORD,
            API_TOKEN_RATE="100000/minute", JWT_ACCESS_MINUTES="240", DJANGO_LOG_LEVEL="WARNING",  # noqa: S106
            SIGNUPS_PER_IP="100000",  # every shopper signs up from 127.0.0.1
            MAX_PENDING_ORDERS_PER_USER="100000",  # a 409 here means sold out, as in the docs' tables
        )  # fmt: skip
        print(f"==> Starting a fresh launcher (python -m devstack run) on 127.0.0.1:{env['PORT']}", flush=True)
        try:
            with running_stack(env, Path(tmp) / "launcher.log", timeout=300) as stack:
                app_pid = next(pid for pid in descendants(stack.process.pid) if b"uvicorn" in _cmdline(pid))
                result = asyncio.run(drive(stack.base_url, env, app_pid, args))
                server_log = stack.output
        except SetupError as error:
            print(f"setup failed: {error}", file=sys.stderr)
            return 2
    checks = verdicts(result)
    print_analytics(result["analytics"])
    print_result(result, checks)
    if not all(checks.values()):
        print(server_errors(server_log))
    if args.report:
        args.report.write_text(
            json.dumps({**result, "checks": checks, "args": vars(args) | {"report": str(args.report)}}, indent=2)
        )
    return 0 if all(checks.values()) else 1


def server_errors(log: str, *, limit: int = 3, warning_lines: int = 10) -> str:
    """The server's last few tracebacks and warnings, so a failed run says what broke, not only that it did.

    Warnings matter too: a checkout or cancellation that leaves its stock for settling logs one, no traceback.
    """
    warned = [line for line in log.splitlines() if re.search(r" (WARNING|ERROR|CRITICAL) ", line)]
    shown_warnings = "\n".join(line[:500] for line in warned[-warning_lines:])
    warnings = f"Server warnings ({len(warned)}, the last {warning_lines}):\n{shown_warnings}" if warned else ""
    blocks = log.split("Traceback (most recent call last):")[1:]
    if not blocks:
        return "\n".join(filter(None, ["The server logged no traceback.", warnings]))
    shown = blocks[-limit:]
    tracebacks = (f"Server traceback {i} of {len(blocks)}:{block[-3000:]}" for i, block in enumerate(shown, 1))
    return "\n".join(filter(None, [*tracebacks, warnings]))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


if __name__ == "__main__":
    sys.exit(main())
