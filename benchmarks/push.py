"""Order push latency: N staff WebSocket clients, time from a status change to its receipt.

Run `DJANGO_DEBUG=0 make run` in one terminal (or `python -m devstack run` with PORT etc.), then:
    .venv/bin/python benchmarks/push.py [--url http://127.0.0.1:8000] [--clients 1,100,1000] [--changes 20]

Setup is over HTTP: a staff and a shopper JWT (`POST /api/auth/token/`, throttled at 20/min per
IP, so two calls per run), fresh orders placed by the shopper (`POST /api/orders/`) and status
changes by staff (`POST /api/orders/{id}/status/`: paid, shipped, delivered). Each order is
placed right before its first change, `--pause-ms` ahead of it, so the shopper never holds more
than one unpaid order (checkout refuses the MAX_PENDING_ORDERS_PER_USER-th with 409); the push
announcing a new order is not one of the measured changes.

For each N, N clients connect in batches to `/ws/staff/orders/?ticket=...` (a single-use
ticket each from `POST /api/auth/ws-ticket/`, fetched right before its batch connects), send
`{"type": "resync", "since": 0}` and wait for `orders.resync`. Then `--changes` status
changes are made one after another, `--pause-ms` apart. t0 is taken just before each POST and
t_commit when it returned; each client stamps the arrival of the matching `order.changed`
(by order_id + seq): when its bytes reached this process, before parsing (one process plays
every browser, and its own parsing queue is not the server's latency; the second table shows
how long it took to read each push after that). Latency "from stored" (the headline, and what
the target is judged on)
runs from the change's timestamp as the server stored it (the pushed timeline entry's `at`,
taken just before the MongoDB update, server clock = this machine's clock) to the receipt, put
on the system clock as it read at that change's POST (the VM's clock sometimes runs fast or
jumps against the monotonic one; the output says by how much when it moved during a run). "From
POST" is end-to-end (includes the HTTP request's own work before the write); "from commit" can
be negative, since the server publishes before it answers. Pushes not received
within `--timeout` s of the last change count as lost. msgs/s = deliveries / (last receipt
- first t0).

All clients run in this one process (uvloop when installed), pinned to the machine's last CPU
when there are several; the server is not pinned. A second table helps explain the first: the
time per client to connect and resync, how long the POSTs took, when each change's first copy
arrived (from the stored change: the write and the publish before any fan-out), the fan-out
spread (first to last client receiving the same push), how busy this process was (loop lag,
CPU), sockets the server closed, and, when `--redis-url` reaches the server's Redis, members of
the staff group left behind after every client closed (a server process joining it for the first
time, or a disconnect that failed on the server), and with `--server-pid` the server's CPU time
(its worker processes included) per status change.

Exits 1 when a push was lost at N <= 100, arrived twice at a client, a client could not connect
or a status change came back with an unexpected seq; 2 when the setup or a request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _process import pin_to_last_core
from _ws import PushClient, Tally, close_clients, open_client, percentile

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = ("127.0.0.1", "localhost", "::1")
FLOW = ("paid", "shipped", "delivered")  # each order gives three pushes, then a fresh one
ADDRESS = {"full_name": "Bench", "line1": "1 Test St", "city": "Madrid", "postal_code": "28001", "country": "ES"}
TOKEN_MAX_AGE_S = 240  # access tokens live 5 minutes; refresh before that
# channels-redis keeps a group's members in this sorted set (CHANNEL_LAYERS prefix "ws").
STAFF_GROUP_KEY = "ws:group:orders.staff"


class BenchmarkError(RuntimeError):
    pass


# --- process setup ------------------------------------------------------------------


def raise_open_files(needed: int) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    if soft < needed:
        raise BenchmarkError(f"open-files limit is {soft} (hard {hard}); {needed} are needed")
    return f"open files limit {soft}"


def process_tree_cpu_s(pid: int | None) -> float | None:
    """CPU seconds (user + system) used so far by ``pid`` and its live descendants (Linux /proc)."""
    if pid is None:
        return None
    total, pending, seen = 0.0, [pid], set()
    try:
        while pending:
            current = pending.pop()
            seen.add(current)
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split() if (task / "children").exists() else []
                pending.extend(child for child in map(int, children) if child not in seen)
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None if current == pid else total
    return total


def check_loopback(url: str, what: str) -> None:
    if urlsplit(url).hostname not in LOOPBACK:
        raise SystemExit(f"benchmarks only target loopback addresses ({what}: {url})")


# --- HTTP setup -----------------------------------------------------------------------


@dataclass
class Session:
    """A JWT pair for one account, refreshed before the access token expires."""

    http: httpx.AsyncClient
    email: str
    access: str = ""
    refresh: str = ""
    issued: float = 0.0
    # Tickets are fetched 50 at a time: one refresh for all of them, or the server sees the
    # old refresh token reused and ends the whole session (refresh-token reuse detection).
    _refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def login(self, password: str) -> None:
        response = await self.http.post("/api/auth/token/", json={"email": self.email, "password": password})
        if response.status_code != 200:
            raise BenchmarkError(f"login as {self.email}: {response.status_code} {response.text[:200]}")
        self._keep(response.json())

    def _keep(self, pair: dict[str, str]) -> None:
        self.access, self.refresh, self.issued = pair["access"], pair["refresh"], time.monotonic()

    async def headers(self) -> dict[str, str]:
        async with self._refreshing:
            if time.monotonic() - self.issued > TOKEN_MAX_AGE_S:
                response = await self.http.post("/api/auth/token/refresh/", json={"refresh": self.refresh})
                if response.status_code != 200:
                    raise BenchmarkError(f"token refresh for {self.email}: {response.status_code} "
                                         f"{response.text[:200]}")  # fmt: skip
                self._keep(response.json())
        return {"Authorization": f"Bearer {self.access}"}

    async def ws_ticket(self, attempts: int = 3) -> str:
        for attempt in range(attempts):
            try:
                response = await self.http.post("/api/auth/ws-ticket/", headers=await self.headers())
                break
            except httpx.TransportError:  # e.g. a keep-alive connection the server just closed
                if attempt == attempts - 1:
                    raise
        if response.status_code != 200:
            raise BenchmarkError(f"ws-ticket: {response.status_code} {response.text[:200]}")
        return response.json()["ticket"]


@dataclass
class Order:
    order_id: str
    seq: int


@dataclass
class HttpOrders:
    """Orders placed by the shopper and changed by staff over the orders API."""

    http: httpx.AsyncClient
    staff: Session
    shopper: Session
    products: list[str]
    _next: itertools.cycle[str] = field(init=False)

    def __post_init__(self) -> None:
        self._next = itertools.cycle(self.products)

    async def place(self) -> Order:
        errors = []
        for _attempt in range(min(10, len(self.products))):  # a product may have sold out: try the next
            payload = {"lines": [{"product_id": next(self._next), "quantity": 1}], "address": ADDRESS}
            response = await self.http.post("/api/orders/", json=payload, headers=await self.shopper.headers())
            if response.status_code in (200, 201):
                data = response.json()
                return Order(order_id=str(data.get("id") or data["order_id"]), seq=int(data.get("seq", 1)))
            errors.append(f"{response.status_code} {response.text[:200]}")
            if response.status_code not in (400, 409, 422):
                break
        raise BenchmarkError(f"POST /api/orders/: {errors}")

    async def change(self, order: Order, status: str) -> int | None:
        response = await self.http.post(
            f"/api/orders/{order.order_id}/status/", json={"status": status}, headers=await self.staff.headers()
        )
        if response.status_code != 200:
            raise BenchmarkError(f"POST /api/orders/{order.order_id}/status/ {status}: {response.status_code} "
                                 f"{response.text[:200]}")  # fmt: skip
        try:
            seq = response.json().get("seq")
        except ValueError:
            return None
        return int(seq) if seq is not None else None


class GroupProbe:
    """Counts the staff group's members in the server's Redis, when reachable (diagnostics only): one per
    server process that has relayed to a staff page (common/fanout.py), none per socket."""

    def __init__(self, redis_url: str) -> None:
        self._client: Any = None
        try:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        except ImportError:
            pass

    async def size(self) -> int | None:
        if self._client is None:
            return None
        try:
            return int(await self._client.zcard(STAFF_GROUP_KEY))
        except Exception:  # noqa: BLE001 - diagnostics only: no Redis, no figure
            self._client = None
            return None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


# --- measurement -------------------------------------------------------------------------


@dataclass
class Change:
    order_id: str
    seq: int
    t0: float
    t_commit: float
    # time.time() - time.perf_counter() at t0: puts this change's receipts on the server's clock.
    # Read per change, since this VM's system clock sometimes moves by tens of milliseconds against
    # the monotonic one, and one reading for the whole run would shift every later change.
    wall_minus_perf: float


@dataclass
class ChangeTiming:
    """One status change: when it was sent, its POST, and when its copies arrived (from stored, from the POST)."""

    index: int
    sent_at: float  # time.time() just before the POST, to match against the server's log
    post_ms: float
    first_ms: float
    last_ms: float
    last_from_post_ms: float


@dataclass
class RunResult:
    clients: int
    connect_s: float
    connect_ms: list[float]
    connect_failures: int
    changes: list[Change]
    from_stored_ms: list[float]
    from_post_ms: list[float]
    from_commit_ms: list[float]
    expected: int
    lost: int
    msgs_per_s: float
    spread_ms: list[float]
    loop_lag_max_ms: float
    client_cpu: float
    client_queued_ms: list[float]
    server_cpu_s: float | None
    seq_mismatches: int
    other_messages: int
    duplicates: int
    server_closed: dict[int, int]
    group_before: int | None
    group_after: int | None
    timings: list[ChangeTiming]
    clock_moved_ms: float  # how far the system clock moved against the monotonic one over the changes

    @property
    def delivered(self) -> int:
        return self.expected - self.lost

    @property
    def first_from_stored_ms(self) -> list[float]:
        """Per change: its first copy's receipt, from the stored change."""
        return [timing.first_ms for timing in self.timings]

    @property
    def post_ms(self) -> list[float]:
        return [(change.t_commit - change.t0) * 1000 for change in self.changes]


async def connect_clients(
    clients: list[PushClient], count: int, *, staff: Session, ws_base: str, origin: str, batch: int,
    timeout: float, tally: Tally,
) -> int:  # fmt: skip
    """Connect ``count`` clients into ``clients``, ``batch`` at a time, each with a fresh ticket; the failures."""
    failures: list[BaseException] = []
    for start in range(0, count, batch):
        size = min(batch, count - start)
        tickets = await asyncio.gather(*(staff.ws_ticket() for _ in range(size)))
        opened = await asyncio.gather(
            *(open_client(f"{ws_base}/ws/staff/orders/?ticket={ticket}", origin=origin, timeout=timeout, tally=tally)
              for ticket in tickets),
            return_exceptions=True,
        )  # fmt: skip
        for result in opened:
            if isinstance(result, PushClient):
                clients.append(result)
            elif isinstance(result, BaseException):
                failures.append(result)
    if failures:
        print(f"  {len(failures)} of {count} clients could not connect, e.g. {failures[0]!r}", file=sys.stderr)
    return len(failures)


async def loop_lag(stop: asyncio.Event, interval: float = 0.005, limit_s: float = 600) -> float:
    """The worst lateness of a short sleep while the burst runs: how busy this process was."""
    worst = 0.0
    for _ in range(int(limit_s / interval)):
        if stop.is_set():
            break
        started = time.perf_counter()
        await asyncio.sleep(interval)
        worst = max(worst, time.perf_counter() - started - interval)
    return worst * 1000


async def measure(
    count: int, *, args: argparse.Namespace, orders_api: HttpOrders, staff: Session, ws_base: str, origin: str,
    probe: GroupProbe,
) -> RunResult:  # fmt: skip
    group_before = await probe.size()
    tally = Tally()
    tally.reset(tracked={}, expected=count * args.changes)
    clients: list[PushClient] = []
    try:
        started = time.perf_counter()
        failures = await connect_clients(
            clients, count, staff=staff, ws_base=ws_base, origin=origin, batch=args.batch,
            timeout=args.connect_timeout, tally=tally,
        )  # fmt: skip
        connect_s = time.perf_counter() - started
        print(f"  N={count}: {len(clients)} clients connected in {connect_s:.2f} s", file=sys.stderr)
        await asyncio.sleep(0.5)  # let the server settle after the connect burst
        tally.reset(tracked=tally.tracked, expected=len(clients) * args.changes)
        stop = asyncio.Event()
        lag_task = asyncio.create_task(loop_lag(stop))
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        server_cpu_started = process_tree_cpu_s(args.server_pid)
        changes: list[Change] = []
        mismatches = 0
        order = Order("", 0)
        for index in range(args.changes):
            if index % len(FLOW) == 0:  # the last order is delivered: the shopper places the next
                order = await orders_api.place()
                tally.tracked[order.order_id] = order.seq  # its changes are counted, not its placement
                await asyncio.sleep(args.pause_ms / 1000)
            t0 = time.perf_counter()
            wall_minus_perf = time.time() - t0
            seq = await orders_api.change(order, FLOW[index % len(FLOW)])
            t_commit = time.perf_counter()
            if seq is not None and seq != order.seq + 1:
                mismatches += 1
            order.seq = seq if seq is not None else order.seq + 1
            changes.append(Change(order.order_id, order.seq, t0, t_commit, wall_minus_perf))
            if index < args.changes - 1:
                await asyncio.sleep(args.pause_ms / 1000)
        if clients:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.done.wait(), args.timeout)
        waited_until = time.perf_counter()
        stop.set()
        lag_ms = await lag_task
        client_cpu = (time.process_time() - cpu_started) / max(1e-9, time.perf_counter() - wall_started)
        server_cpu_ended = process_tree_cpu_s(args.server_pid)
        server_cpu = None if None in (server_cpu_started, server_cpu_ended) else server_cpu_ended - server_cpu_started
    finally:
        server_closed: dict[int, int] = {}
        for client in clients:
            if client.server_close_code is not None:
                server_closed[client.server_close_code] = server_closed.get(client.server_close_code, 0) + 1
        await close_clients(clients)
    group_after = await probe.size()

    from_stored, from_post, from_commit, spread, arrivals = [], [], [], [], []
    timings: list[ChangeTiming] = []
    lost = 0
    for index, change in enumerate(changes):
        times = []
        stored = stored_timestamp(tally.stored_at.get((change.order_id, change.seq)))
        for client in clients:
            arrived = client.received.get((change.order_id, change.seq))
            if arrived is None or arrived > waited_until:  # not there within --timeout s of the last change
                lost += 1
                continue
            times.append(arrived)
            if stored is not None:
                from_stored.append((arrived + change.wall_minus_perf - stored) * 1000)
            from_post.append((arrived - change.t0) * 1000)
            from_commit.append((arrived - change.t_commit) * 1000)
        if times:
            spread.append((max(times) - min(times)) * 1000)
            arrivals.append(max(times))
            if stored is not None:
                timings.append(ChangeTiming(
                    index, change.t0 + change.wall_minus_perf, (change.t_commit - change.t0) * 1000,
                    (min(times) + change.wall_minus_perf - stored) * 1000,
                    (max(times) + change.wall_minus_perf - stored) * 1000,
                    (max(times) - change.t0) * 1000,
                ))  # fmt: skip
    wall = (max(arrivals) - changes[0].t0) if arrivals else 0.0
    expected = len(clients) * len(changes)
    offsets = [change.wall_minus_perf for change in changes]
    clock_moved_ms = (max(offsets) - min(offsets)) * 1000 if offsets else 0.0
    return RunResult(
        clients=count, connect_s=connect_s, connect_ms=[client.connect_ms for client in clients],
        connect_failures=failures, changes=changes, from_stored_ms=from_stored, from_post_ms=from_post,
        from_commit_ms=from_commit,
        expected=expected, lost=lost, msgs_per_s=(expected - lost) / wall if wall else 0.0, spread_ms=spread,
        loop_lag_max_ms=lag_ms, client_cpu=client_cpu,
        client_queued_ms=[ms for client in clients for ms in client.queued_ms], server_cpu_s=server_cpu,
        seq_mismatches=mismatches,
        other_messages=sum(c.other_messages for c in clients), duplicates=sum(c.duplicates for c in clients),
        server_closed=server_closed, group_before=group_before, group_after=group_after, timings=timings,
        clock_moved_ms=clock_moved_ms,
    )  # fmt: skip


def stored_timestamp(iso: str | None) -> float | None:
    """The pushed event's ``at`` (ISO 8601 with offset, as MongoDB kept it: ms) as a Unix time."""
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None


# --- report ---------------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def main_table(results: list[RunResult]) -> str:
    lines = [
        "| N | connect s | changes | deliveries | lost | p50 ms from stored | p99 ms from stored | max ms from stored "
        "| p50 ms from POST | p99 ms from POST | max ms from POST | p50 ms from commit | p99 ms from commit | msgs/s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        stored, post, commit = r.from_stored_ms, r.from_post_ms, r.from_commit_ms
        lines.append(
            f"| {r.clients:,} | {r.connect_s:.2f} | {len(r.changes)} | {r.delivered:,} | {r.lost:,} "
            f"| {fmt(percentile(stored, 50))} | {fmt(percentile(stored, 99))} | {fmt(max(stored, default=math.nan))} "
            f"| {fmt(percentile(post, 50))} | {fmt(percentile(post, 99))} | {fmt(max(post, default=math.nan))} "
            f"| {fmt(percentile(commit, 50))} | {fmt(percentile(commit, 99))} | {fmt(r.msgs_per_s, 0)} |"
        )
    return "\n".join(lines)


def server_cpu_cell(r: RunResult) -> str:
    if r.server_cpu_s is None or not r.changes:
        return "n/a"
    per_delivery = f"{r.server_cpu_s / r.delivered * 1e6:,.0f}" if r.delivered else "n/a"
    return f"{r.server_cpu_s / len(r.changes) * 1000:,.1f} ({per_delivery})"


def detail_table(results: list[RunResult]) -> str:
    lines = [
        "| N | connect+resync p50 / p99 ms per client | failed connects | POST p50 / p99 ms "
        "| first copy from stored p50 / max ms | fan-out spread p50 / max ms | client loop lag max ms | client CPU "
        "| client read after arrival p50 / p99 ms "
        "| sockets closed by the server "
        "| staff group members before / after | server CPU ms per change (µs per delivery) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        closes = f" {dict(sorted(r.server_closed.items()))}" if r.server_closed else ""
        lines.append(
            f"| {r.clients:,} | {fmt(percentile(r.connect_ms, 50))} / {fmt(percentile(r.connect_ms, 99))} "
            f"| {r.connect_failures} | {fmt(percentile(r.post_ms, 50))} / {fmt(percentile(r.post_ms, 99))} "
            f"| {fmt(percentile(r.first_from_stored_ms, 50))} / {fmt(max(r.first_from_stored_ms, default=math.nan))} "
            f"| {fmt(statistics.median(r.spread_ms) if r.spread_ms else math.nan)} / "
            f"{fmt(max(r.spread_ms, default=math.nan))} | {fmt(r.loop_lag_max_ms)} | {r.client_cpu:.0%} "
            f"| {fmt(percentile(r.client_queued_ms, 50))} / {fmt(percentile(r.client_queued_ms, 99))} "
            f"| {sum(r.server_closed.values())}{closes} "
            f"| {'n/a' if r.group_before is None else r.group_before} / "
            f"{'n/a' if r.group_after is None else r.group_after} "
            f"| {server_cpu_cell(r)} |"
        )
    return "\n".join(lines)


def slowest(r: RunResult, count: int = 3) -> list[ChangeTiming]:
    """The changes whose last copy arrived latest after their POST: a few of them decide the p99s.

    From the POST, so that a slow request shows as well as a slow fan-out.
    """
    return sorted(r.timings, key=lambda timing: timing.last_from_post_ms, reverse=True)[:count]


def utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%H:%M:%S.%f")[:-3]


def slowest_line(r: RunResult) -> str:
    cells = [
        f"#{t.index + 1} sent {utc(t.sent_at)} UTC: last copy {t.last_from_post_ms:,.0f} ms from the POST "
        f"(POST {t.post_ms:,.0f} ms; first / last copy {t.first_ms:,.0f} / {t.last_ms:,.0f} ms from stored)"
        for t in slowest(r)
    ]
    return f"N={r.clients:,}, slowest changes: " + ("; ".join(cells) or "none timed")


# --- main -------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, counts: list[int], notes: list[str]) -> int:
    base = args.url.rstrip("/")
    ws_base = "ws" + base.removeprefix("http")
    limits = httpx.Limits(max_connections=args.batch, max_keepalive_connections=args.batch)
    async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False, limits=limits) as http:
        staff, shopper = Session(http, args.staff_email), Session(http, args.shopper_email)
        await staff.login(args.password)
        await shopper.login(args.password)
        listing = await http.get("/api/products/", params={"in_stock": 1, "page_size": 50})
        listing.raise_for_status()
        products = [row["id"] for row in listing.json()["results"] if row["in_stock"]]
        if not products:
            raise BenchmarkError("no product in stock")
        orders_api = HttpOrders(http, staff, shopper, products)
        results: list[RunResult] = []
        probe = GroupProbe(args.redis_url)
        try:
            for count in counts:
                results.append(await measure(count, args=args, orders_api=orders_api, staff=staff, ws_base=ws_base,
                                             origin=base, probe=probe))  # fmt: skip
        finally:
            await probe.close()

    print(f"\n{'; '.join(notes)}; server {base}; {args.changes} changes per N, {args.pause_ms:g} ms apart; "
          "clients: picows, no permessage-deflate (the server negotiates none)\n")  # fmt: skip
    print(main_table(results))
    print()
    print(detail_table(results))
    print()
    for r in results:
        print(slowest_line(r))
        if r.clock_moved_ms > 1:
            print(f"N={r.clients:,}: the system clock moved {r.clock_moved_ms:,.0f} ms against the monotonic clock "
                  "during the changes; each change's receipts are on the clock as it read at its POST")  # fmt: skip
    biggest = max(results, key=lambda r: r.clients)
    p99 = percentile(biggest.from_stored_ms, 99)
    if biggest.clients < 1000:
        verdict = "not judged (the target is for N = 1,000)"
    else:
        verdict = "met" if p99 < args.target_ms and not biggest.lost else "NOT met"
    post_p99 = percentile(biggest.from_post_ms, 99)
    print(f"\ntarget p99 < {args.target_ms:g} ms from the stored change at N = {biggest.clients:,}: {fmt(p99)} ms, "
          f"{biggest.lost} lost -> {verdict} (from POST start: p99 {fmt(post_p99)} ms)")  # fmt: skip
    if args.json:
        payload = [
            {"clients": r.clients, "connect_s": r.connect_s, "changes": len(r.changes), "deliveries": r.delivered,
             "lost": r.lost, "from_stored_ms": {"p50": percentile(r.from_stored_ms, 50),
                                                "p99": percentile(r.from_stored_ms, 99),
                                                "max": max(r.from_stored_ms, default=None)},
             "from_post_ms": {"p50": percentile(r.from_post_ms, 50),
                                              "p99": percentile(r.from_post_ms, 99),
                                              "max": max(r.from_post_ms, default=None)},
             "from_commit_ms": {"p50": percentile(r.from_commit_ms, 50), "p99": percentile(r.from_commit_ms, 99)},
             "first_from_stored_ms": {"p50": percentile(r.first_from_stored_ms, 50),
                                      "max": max(r.first_from_stored_ms, default=None)},
             "msgs_per_s": r.msgs_per_s, "post_ms_p50": percentile(r.post_ms, 50), "failed_connects":
             r.connect_failures, "clock_moved_ms": r.clock_moved_ms,
             "slowest": [{"change": t.index + 1, "sent_utc": utc(t.sent_at), "post_ms": t.post_ms,
                          "first_ms": t.first_ms, "last_ms": t.last_ms, "last_from_post_ms": t.last_from_post_ms}
                         for t in slowest(r)]} for r in results
        ]  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2))
    failed = [r for r in results
              if (r.clients <= 100 and r.lost) or r.connect_failures or r.seq_mismatches or r.duplicates]  # fmt: skip
    for r in failed:
        print(f"error: N={r.clients}: {r.lost} lost, {r.connect_failures} failed connects, "
              f"{r.seq_mismatches} unexpected seq numbers, {r.duplicates} duplicate pushes",
              file=sys.stderr)  # fmt: skip
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", default="1,100,1000", help="comma-separated N values")
    parser.add_argument("--changes", type=int, default=20, help="status changes per N")
    parser.add_argument("--pause-ms", type=float, default=100, help="between status changes")
    parser.add_argument("--batch", type=int, default=50, help="clients connecting at once")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for pushes after the last change")
    parser.add_argument("--connect-timeout", type=float, default=30.0, help="seconds for one connect + resync")
    parser.add_argument("--target-ms", type=float, default=100.0, help="p99 target at N = 1,000")
    parser.add_argument("--staff-email", default="admin@example.com")
    parser.add_argument("--shopper-email", default="shopper@example.com")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "tienda-demo"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6390/0"),
                        help="the server's Redis: staff group size (diagnostics)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--server-pid", type=int, help="the ASGI server's pid: report its CPU time (and its "
                        "workers') during the status changes")  # fmt: skip
    args = parser.parse_args()
    check_loopback(args.url, "--url")
    counts = [int(value) for value in args.clients.split(",") if value.strip()]
    if not counts or min(counts) < 1 or args.changes < 1 or args.batch < 1:
        parser.error("--clients, --changes and --batch must be positive")
    notes = [pin_to_last_core(), raise_open_files(max(counts) + args.batch + 256)]
    notes.append("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    try:
        import uvloop
    except ImportError:
        notes.append("asyncio event loop")
        runner: Callable[..., Any] = asyncio.run
    else:
        notes.append("uvloop event loop")
        runner = uvloop.run
    try:
        return runner(run(args, counts, notes))
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
