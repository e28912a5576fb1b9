"""The Redis failover drill: two app processes and a worker on Sentinel-managed Redis, under mixed
load; the Redis primary is killed (SIGKILL) mid-run, then one app process is.

Run by `make failover` (benchmarks/redis_failover.py, the full form, prints the figures) and by
tests/test_redis_failover.py (a short form in `make test`, asserts them). Everything is a real
process on loopback: a Redis primary, two replicas and three sentinels (devstack/sentinel.py),
mongoeco, two uvicorn app processes on two ports, the job queue's worker.

The load, in threads, alternates between the two app processes as a load balancer would, and
moves to the other one when a process refuses connections:

- browsing: the home page and the product API, anonymous;
- authenticated calls: the shopper's order list with a token (the blocklist in Redis is read);
- checkouts: orders placed through the API;
- status changes: orders with an open order page are paid (shopper), shipped and delivered (staff);
- revocations: a token obtained and logged out, again and again; each logout that answered 204
  is checked after the failover;
- live order pages: one WebSocket per tracked order, resyncing from the last seq seen at each
  connection (as static/js/live.js), reconnecting to the other process when theirs is gone.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from pymongo import MongoClient
from rq.job import Job
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin

from devstack.__main__ import asgi_server_argv, worker_argv
from devstack.processes import ManagedProcess, ProcessGroup, free_port
from devstack.sentinel import MASTER_NAME, SentinelSet, start_sentinel_set
from devstack.services import start_mongo
from devstack.testing import ADDRESS, ADMIN, ROOT, SHOPPER, BackgroundLoop, stack_env, status_of, wait_for_worker

# An order e-mail event in one of these states is done with (orders/notifications.py).
FINAL_MAIL_STATES = ("sent", "failed", "unknown")

PASSWORD = "failover-demo-password-1"  # noqa: S105 - the throwaway demo accounts
NEXT_STATUS = {"pending": "paid", "paid": "shipped", "shipped": "delivered"}
# httpx builds a TLS context for every client, each request of ``httpx.request`` included: about
# 25 ms of CPU loading the CA bundle, for calls that are plain HTTP. The load's calls share one.
TLS = ssl.create_default_context()
BROWSE_PAUSE_S = 0.05


@dataclass
class Call:
    """One HTTP call the load made: what, where, when (monotonic), and its status (0: no connection)."""

    kind: str
    port: int
    started: float
    ended: float
    status: int
    code: str = ""  # the JSON "code" of a refusal (503)
    retry: bool = False  # sent again after the first process took the request and gave no answer


def _refused(call: Call) -> bool:
    """An error answer to a call of the load (the drill's own checks aside)."""
    return call.status >= 400 and call.kind != "check" and not _conflict_after_retry(call)


def _conflict_after_retry(call: Call) -> bool:
    """A status change sent again after its first process died without answering, answered 409: that
    process had stored the change before it died, so the order has moved on and the retry conflicts."""
    return call.retry and call.kind == "status change" and call.status == 409


@dataclass
class Drill:
    """The processes of one drill and what the load recorded."""

    var_dir: Path
    group: ProcessGroup = field(default_factory=ProcessGroup)
    env: dict[str, str] = field(default_factory=dict)
    sentinels: SentinelSet | None = None
    apps: dict[int, ManagedProcess] = field(default_factory=dict)  # port -> app process
    worker: ManagedProcess | None = None
    calls: list[Call] = field(default_factory=list)
    revoked: list[tuple[str, float]] = field(default_factory=list)  # (access token, when) of logouts answered 204
    pages: list[OrderPage] = field(default_factory=list)
    behind: list[str] = field(default_factory=list)  # pages not showing their order's state, described
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    # --- start-up ---------------------------------------------------------------------------

    def start(self) -> None:
        """Sentinels and Redis, MongoDB, migrations and demo data, two app processes, the worker."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.sentinels = start_sentinel_set(self.group, self.var_dir / "redis")
        mongo_port = free_port()
        mongo_uri = start_mongo(self.group, port=mongo_port, sqlite_path=None, log_path=self.var_dir / "mongo.log")
        self.env = stack_env(
            self.var_dir,
            DJANGO_DEBUG="0",
            MONGODB_URI=mongo_uri,
            REDIS_SENTINELS=self.sentinels.sentinel_list,
            REDIS_MASTER_NAME=MASTER_NAME,
            DEMO_CATALOG_SIZE="30",
            DEMO_PASSWORD=PASSWORD,
            API_TOKEN_RATE="100000/minute",  # noqa: S106 - a rate, not a password
            MAX_PENDING_ORDERS_PER_USER="100000",
            WS_MAX_SOCKETS_PER_USER="0",
            ORDER_EMAIL_RECONCILE_INTERVAL_SECONDS="2",
            # A job the worker had started when Redis failed can be left "started" with its event
            # unclaimed; the reconciliation queues it again once the lease has run out (120 s by
            # default). The e-mails go to files here, so a short lease holds every live job.
            EMAIL_JOB_TIMEOUT_SECONDS="5",
            ORDER_EMAIL_LEASE_SECONDS="6",
            EMAIL_FILE_PATH=str(self.var_dir / "mail"),
            WARM_UP_AT_START="0",
        )
        result = _run([sys.executable, "-m", "devstack.prepare"], self.env)
        if result:
            raise RuntimeError(f"prepare failed:\n{result}")
        for _ in range(2):
            port = free_port()
            self.apps[port] = self.group.spawn(
                f"app-{port}", asgi_server_argv(port=port), env=self.env, cwd=ROOT,
                log_path=self.var_dir / f"app-{port}.log",
            )  # fmt: skip
        for port, app in self.apps.items():
            deadline = time.monotonic() + 60
            while status_of(f"http://127.0.0.1:{port}/healthz") != 200:
                if not app.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"app on {port} did not become healthy:\n{app.log_tail(40)}")
                time.sleep(0.2)
        self.worker = self.group.spawn(
            "worker", worker_argv(), env=self.env, cwd=ROOT, log_path=self.var_dir / "worker.log"
        )
        wait_for_worker(self.worker)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)
        for page in self.pages:
            page.stop()
        for process in reversed(self.group.processes):  # nothing here keeps data: no grace needed
            process.stop(timeout=2)

    @property
    def ports(self) -> list[int]:
        return list(self.apps)

    def live_ports(self) -> list[int]:
        return [port for port, app in self.apps.items() if app.alive()]

    # --- the load ---------------------------------------------------------------------------

    def client(self, email: str) -> Client:
        return Client.signed_in(self, email)

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def start_load(self, *, tracked_orders: int, change_interval: float) -> None:
        """Open a live page per tracked order, then start every kind of load in its own thread."""
        shopper, admin = self.client(SHOPPER), self.client(ADMIN)
        product_ids = [p["id"] for p in shopper.call("setup", "GET", "/api/products/?page_size=20").json()["results"]]
        tracked = []
        for index in range(tracked_orders):
            order = shopper.call(
                "setup", "POST", "/api/orders/", json=_order_body(product_ids[index % 4]), bearer=True
            ).json()
            tracked.append(order["id"])
            page = OrderPage(self, f"/ws/orders/{order['id']}/", shopper.cookie, self.ports[index % 2]).start()
            self.pages.append(page)
        for page in self.pages:
            page.wait_live(15)
        loops = [
            (self._browse, ()),
            (self._authenticated, (self.client(SHOPPER),)),
            (self._checkouts, (self.client(SHOPPER), product_ids[4:])),
            (self._status_changes, (shopper, admin, tracked, change_interval)),
            (self._revocations, ()),
        ]
        for target, args in loops:
            thread = threading.Thread(target=target, args=args, daemon=True)
            thread.start()
            self._threads.append(thread)

    def warm_up(self, seconds: float, timeout: float) -> None:
        """Let the load run ``seconds``, then on until a logout has been answered, at most ``timeout`` s
        in all: the revocation check needs logouts from before the kill, and on a busy machine the
        first one can take longer than the warm-up."""
        deadline = time.monotonic() + timeout
        time.sleep(seconds)
        while not self.revoked and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop_load(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _browse(self) -> None:
        visitor = Client(self)
        for path in itertools.cycle(["/", "/api/products/?page_size=10"]):
            if self._stop.is_set():
                return
            visitor.call("browse", "GET", path)
            time.sleep(BROWSE_PAUSE_S)

    def _authenticated(self, shopper: Client) -> None:
        while not self._stop.is_set():
            shopper.call("authenticated", "GET", "/api/orders/?page_size=5", bearer=True)
            time.sleep(0.02)

    def _checkouts(self, shopper: Client, product_ids: list[str]) -> None:
        for product_id in itertools.cycle(product_ids):
            if self._stop.is_set():
                return
            shopper.call("checkout", "POST", "/api/orders/", json=_order_body(product_id), bearer=True)
            time.sleep(0.1)

    def _status_changes(self, shopper: Client, admin: Client, tracked: list[str], interval: float) -> None:
        status = dict.fromkeys(tracked, "pending")
        for order_id in itertools.cycle(tracked):
            if self._stop.is_set():
                return
            to = NEXT_STATUS.get(status[order_id])
            if to is None:
                continue
            if to == "paid":
                response = shopper.call("status change", "POST", f"/api/orders/{order_id}/pay/", bearer=True)
            else:
                body = {"status": to}
                response = admin.call(
                    "status change", "POST", f"/api/orders/{order_id}/status/", json=body, bearer=True
                )
            if response is not None and response.status_code == 200:
                status[order_id] = to
            elif response is not None and response.status_code == 409:
                # The order moved on without this answer (a change sent again after its first process
                # stored it and died): follow it, as staff reloading the order would.
                current = admin.call("check", "GET", f"/api/orders/{order_id}/", bearer=True)
                if current is not None and current.status_code == 200:
                    status[order_id] = current.json()["status"]
            time.sleep(interval)

    def _revocations(self) -> None:
        revoker = Client(self)
        while not self._stop.is_set():
            tokens = revoker.call("login", "POST", "/api/auth/token/", json={"email": SHOPPER, "password": PASSWORD})
            if tokens is None or tokens.status_code != 200:
                time.sleep(0.05)
                continue
            access = tokens.json()["access"]
            headers = {"Authorization": f"Bearer {access}"}
            logout = revoker.call("logout", "POST", "/api/auth/logout/", headers=headers)
            if logout is not None and logout.status_code == 204:
                with self._lock:
                    self.revoked.append((access, time.monotonic()))

    # --- faults -----------------------------------------------------------------------------

    def kill_redis_primary(self) -> tuple[int, float]:
        """SIGKILL the Redis primary; its port and the moment (monotonic)."""
        if self.sentinels is None:
            raise RuntimeError("the drill has not started")
        port = self.sentinels.primary_port()
        process = self.sentinels.servers[port]
        process.popen.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        process.popen.wait(10)
        return port, killed

    def kill_app(self, port: int) -> float:
        process = self.apps[port]
        process.popen.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        process.popen.wait(10)
        return killed

    # --- checks -----------------------------------------------------------------------------

    def revocations_holding(self, killed: float) -> dict[str, tuple[int, int]]:
        """Revoked tokens still refused, of those checked, for logouts answered before and after ``killed``."""
        checker = Client(self)
        found = {"before the kill": (0, 0), "after the kill": (0, 0)}
        for access, answered in list(self.revoked):
            headers = {"Authorization": f"Bearer {access}"}
            response = checker.call("check", "GET", "/api/auth/sessions/", headers=headers)
            when = "before the kill" if answered < killed else "after the kill"
            refused, checked = found[when]
            found[when] = (refused + (response is not None and response.status_code == 401), checked + 1)
        return found

    def pages_in_sync(self, timeout: float) -> tuple[int, int]:
        """(pages showing their order's current status and seq, pages), waiting up to ``timeout``."""
        admin = Client.signed_in(self, ADMIN)
        deadline = time.monotonic() + timeout
        while True:
            current = {}
            for page in self.pages:
                response = admin.call("check", "GET", f"/api/orders/{page.order_id}/", bearer=True)
                if response is not None and response.status_code == 200:
                    current[page.order_id] = (response.json()["status"], response.json()["seq"])
            behind = [page for page in self.pages if current.get(page.order_id) != (page.status, page.last_seq)]
            if not behind or time.monotonic() > deadline:
                self.behind = [
                    f"{page.path}: shows {page.status} seq {page.last_seq}, is {current.get(page.order_id)}; "
                    f"connections on {page.connections}, pushes {page.pushes}"
                    for page in behind
                ]
                return len(self.pages) - len(behind), len(self.pages)
            time.sleep(0.5)

    def jobs_settled(self, timeout: float) -> dict[str, Any]:
        """Order e-mail events: how many there are, how many were e-mailed, how many are not (yet)."""
        database = MongoClient(self.env["MONGODB_URI"], serverSelectionTimeoutMS=5000).get_default_database()
        deadline = time.monotonic() + timeout
        while True:
            orders = list(database["orders_order"].find({}, {"seq": 1, "notifications": 1, "notify_pending": 1}))
            events = sum(int(order.get("seq", 0)) for order in orders)
            states = Counter(
                state.get("state", "?") for order in orders for state in (order.get("notifications") or {}).values()
            )
            final = sum(states[state] for state in FINAL_MAIL_STATES)
            if final >= events or time.monotonic() > deadline:
                figures: dict[str, Any] = {"events": events, "sent": states["sent"], "not sent": events - final}
                figures.update(states)
                if final < events:
                    figures["waiting"] = self._events_not_final(orders)
                return figures
            time.sleep(0.5)

    def _events_not_final(self, orders: list[dict[str, Any]]) -> list[str]:
        """Each event without a final e-mail state: its state in the order, and its job's status in the queue."""
        if self.sentinels is None:
            raise RuntimeError("the drill has not started")
        waiting = []
        with redis.Redis(port=self.sentinels.primary_port()) as client:
            for order in orders:
                notifications = order.get("notifications") or {}
                for seq in range(1, int(order.get("seq", 0)) + 1):
                    state = (notifications.get(f"s{seq}") or {}).get("state", "none")
                    if state in FINAL_MAIL_STATES:
                        continue
                    # The job id orders.notifications.mail_job_id gives (this module runs without Django).
                    key = Job.key_for(f"order-mail-{order['_id']}-{seq}")
                    waiting.append(f"{order['_id']} s{seq}: {state}, notify_pending {order.get('notify_pending')}, "
                                   f"job {client.hget(key, 'status')!r}")  # fmt: skip
        return waiting

    def wait_recovered(self, killed: float, *, timeout: float) -> None:
        """Return once authenticated calls succeed again after ``killed``; AssertionError after ``timeout``."""
        deadline = killed + timeout
        while self.figures(redis_killed=killed, app_killed=None)["recovery_seconds"] is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"authenticated calls did not succeed again within {timeout} s")
            time.sleep(0.2)

    def figures(self, *, redis_killed: float, app_killed: float | None) -> dict[str, Any]:
        """What the load saw around the kills."""
        with self._lock:
            calls = list(self.calls)
        after = [c for c in calls if c.ended >= redis_killed and (app_killed is None or c.started < app_killed)]
        # Status 0: the connection went to an app process that was gone (the load moved on).
        auth = [c for c in after if c.kind == "authenticated" and c.status != 0]
        refused = [c for c in auth if c.status != 200]
        last_refusal = max((c.started for c in refused), default=redis_killed)
        recovered = min((c.ended for c in auth if c.status == 200 and c.started >= last_refusal), default=None)
        statuses = Counter(" ".join(str(part) for part in (c.kind, c.status, c.code) if part != "") for c in after)
        return {
            "recovery_seconds": None if recovered is None else round(recovered - redis_killed, 2),
            # Refused: a 503 (or any other error answer); "no connection": sent to a process that was gone.
            "refused": dict(Counter(c.status for c in after if _refused(c))),
            "conflicts_after_retry": sum(1 for c in after if _conflict_after_retry(c)),
            "no_connection": sum(1 for c in after if c.status == 0),
            "server_errors": sum(1 for c in calls if c.status >= 500 and c.status != 503),
            "by_kind": dict(sorted(statuses.items())),
            "calls": len(after),
        }


@dataclass
class Client:
    """An HTTP client of the deployment: alternates between live app processes, moves on when one refuses."""

    drill: Drill
    access: str = ""
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)
    _turn: int = 0

    @classmethod
    def signed_in(cls, drill: Drill, email: str) -> Client:
        """Signed in to the site (session cookie) and to the API (a token)."""
        client = cls(drill)
        port = drill.live_ports()[0]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15, cookies=client.cookies) as http:
            html = http.get("/account/login/").text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
            if token is None:
                raise RuntimeError("no CSRF token on the login page")
            data = {"csrfmiddlewaretoken": token.group(1), "username": email, "password": PASSWORD}
            response = http.post("/account/login/", data=data, headers={"Referer": f"{http.base_url}/account/login/"})
            if response.status_code != 302:
                raise RuntimeError(f"{email} could not sign in: {response.status_code} {response.text[:300]}")
            client.cookies.update(http.cookies)
            tokens = http.post("/api/auth/token/", json={"email": email, "password": PASSWORD})
            if tokens.status_code != 200:
                raise RuntimeError(f"{email} got no token: {tokens.status_code} {tokens.text[:300]}")
            client.access = tokens.json()["access"]
        return client

    @property
    def cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def call(self, kind: str, method: str, path: str, *, bearer: bool = False, **kwargs: Any) -> httpx.Response | None:
        """One request to the next live process (recorded); None when no process took the connection."""
        headers = dict(kwargs.pop("headers", {}))
        if bearer:
            headers["Authorization"] = f"Bearer {self.access}"
        ports = self.drill.live_ports() or self.drill.ports
        self._turn += 1
        for attempt in range(len(ports)):
            port = ports[(self._turn + attempt) % len(ports)]
            started = time.monotonic()
            try:
                response = httpx.request(
                    method, f"http://127.0.0.1:{port}{path}", headers=headers, timeout=15, verify=TLS, **kwargs
                )
            except httpx.TransportError:
                self.drill.record(Call(kind, port, started, time.monotonic(), 0))
                continue  # as a load balancer: that process is gone, try the next
            code = ""
            if response.status_code == 503 and response.headers.get("content-type", "").startswith("application/json"):
                code = str(response.json().get("code", ""))
            self.drill.record(Call(kind, port, started, time.monotonic(), response.status_code, code, attempt > 0))
            return response
        return None


@dataclass
class OrderPage(BackgroundLoop):
    """A live order page (as static/js/live.js): resync from the last seq at each connection,
    apply pushes, resync on a gap; on a close, reconnect, to the other process if its own is gone."""

    drill: Drill
    path: str
    cookie: str
    port: int
    status: str = ""
    last_seq: int = 0
    connections: list[int] = field(default_factory=list)  # the port of each connection that answered
    pushes: int = 0

    @property
    def order_id(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def wait_live(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.connections:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.path} did not connect within {timeout} s")
            time.sleep(0.05)

    async def _run(self) -> None:
        while not self._stop.is_set():
            if self.port not in self.drill.live_ports():
                self.port = next(iter(self.drill.live_ports()), self.port)  # the load balancer's choice
            await self._session()
            await asyncio.sleep(0.25)

    async def _session(self) -> None:
        url = f"ws://127.0.0.1:{self.port}{self.path}"
        try:
            async with connect(
                url, additional_headers={"Cookie": self.cookie}, origin=Origin(f"http://127.0.0.1:{self.port}"),
                open_timeout=5, close_timeout=1,
            ) as socket:  # fmt: skip
                await socket.send(json.dumps({"type": "resync", "since": self.last_seq}))
                answered = False
                while not self._stop.is_set():
                    try:
                        raw = await asyncio.wait_for(socket.recv(), 0.2)
                    except TimeoutError:
                        continue
                    if not answered:
                        answered = True
                        self.connections.append(self.port)
                    await self._handle(socket, json.loads(raw))
        except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
            return

    async def _handle(self, socket: Any, message: dict[str, Any]) -> None:
        if message["type"] == "order.resync" and message.get("order"):
            self.status = message["order"]["status"]
            self.last_seq = max(self.last_seq, message["order"]["seq"])
        elif message["type"] == "order.changed":
            self.pushes += 1
            order = message["order"]
            if order["seq"] > self.last_seq + 1:  # a push was lost: ask for what was missed
                await socket.send(json.dumps({"type": "resync", "since": self.last_seq}))
            elif order["seq"] == self.last_seq + 1:
                self.status, self.last_seq = order["status"], order["seq"]


def _order_body(product_id: str) -> dict[str, Any]:
    return {"lines": [{"product_id": product_id, "quantity": 1}], "address": ADDRESS}


def _run(argv: list[str], env: dict[str, str]) -> str:
    """Run ``argv``; "" when it succeeded, else its output."""
    import subprocess

    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    return "" if result.returncode == 0 else result.stdout + result.stderr


@contextmanager
def drill(var_dir: Path) -> Iterator[Drill]:
    """A started drill, stopped on exit."""
    running = Drill(var_dir)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@dataclass
class Result:
    """The figures of one run."""

    redis_round: dict[str, Any]
    app_round: dict[str, Any]
    revocations: dict[str, tuple[int, int]]
    pages: tuple[int, int]
    page_moves: int
    behind: list[str]
    jobs: dict[str, Any]
    timings: dict[str, float]


def run_drill(
    var_dir: Path, *, warm: float, after_recovery: float, after_app_kill: float, tracked_orders: int
) -> Result:
    """Start, load (``warm`` s, and on until a logout has been answered), kill the Redis primary, wait
    for recovery and ``after_recovery`` s more, kill one app process, wait ``after_app_kill`` s, stop
    the load, check."""
    timings: dict[str, float] = {}
    began = time.monotonic()
    with drill(var_dir) as running:
        timings["start-up"] = time.monotonic() - began
        running.start_load(tracked_orders=tracked_orders, change_interval=0.4)
        running.warm_up(warm, timeout=warm + 30)
        _, redis_killed = running.kill_redis_primary()
        running.wait_recovered(redis_killed, timeout=30)
        time.sleep(after_recovery)
        doomed = running.ports[0]
        app_killed = running.kill_app(doomed)
        time.sleep(after_app_kill)
        running.stop_load()
        timings["load"] = time.monotonic() - began - timings["start-up"]
        redis_round = running.figures(redis_killed=redis_killed, app_killed=app_killed)
        app_round = running.figures(redis_killed=app_killed, app_killed=None)
        checked = time.monotonic()
        revocations = running.revocations_holding(redis_killed)
        timings["revocations checked"] = time.monotonic() - checked
        pages = running.pages_in_sync(15)
        moved = sum(1 for page in running.pages if doomed in page.connections and page.connections[-1] != doomed)
        timings["pages checked"] = time.monotonic() - checked
        jobs = running.jobs_settled(30)
        timings["jobs checked"] = time.monotonic() - checked
    timings["total"] = time.monotonic() - began
    return Result(redis_round, app_round, revocations, pages, moved, running.behind, jobs, timings)
