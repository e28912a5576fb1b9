"""The job queue: what it costs a checkout, how many e-mails a second one worker sends, and
whether the password-reset page's timing tells known addresses from unknown ones.

Part 1, checkout cost (in-process, on the running server's MongoDB and Redis, as auth.py):
checkouts through ``orders.services.order_place`` as the demo shopper, alternating between the
order e-mail queued as shipped and not queued (``order_event_mail_enqueue`` replaced by a
no-op). Prints each variant's p50, the median of the paired differences, the enqueue's own time,
and the Redis round trips each checkout made (counted on the client's connections: one send of
one command or one pipeline is one round trip) with the commands the enqueue sent.

Part 2, e-mails per second: the server's worker (`make run` starts one) is paused with RQ's
suspend while part 1 queues one e-mail per checkout, then resumed; the rate is jobs / (last
job's end - first job's start), from RQ's job timestamps. The sink is what the server uses:
files under var/mail/ for `make run`.

Part 3, the reset page (over HTTP): POST /account/password/reset/ for the demo shopper's address
and for addresses nobody has, alternating; p50 and p99 of each and the difference of the p50s.
The reset limit per client address is cleared between requests (outside the timing), and the
worker is paused meanwhile, so the figures are the page's own; `--resets-with-worker` keeps it
running (on a machine where the worker shares the app's cores, its sending a known address's
e-mail right after the answer is a difference an observer could see).

The orders it placed are cancelled at the end, without e-mails, so their units go back on sale.

    make run   # in another terminal; DJANGO_DEBUG=0 make run for figures
    .venv/bin/python benchmarks/job_queue.py [--url http://127.0.0.1:8000] [--checkouts 100] [--resets 200]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import socket
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any
from unittest import mock

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import Result  # noqa: E402

SHOPPER = "shopper@example.com"
RESET_PATH = "/account/password/reset/"
COMMAND = re.compile(rb"\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n")


# --- counting Redis round trips on the client ----------------------------------------------------


class RoundTrips:
    """Counts every send of the Redis clients in this process (sync and asyncio), and the commands sent."""

    def __init__(self) -> None:
        self.count = 0
        self.commands: Counter[str] = Counter()

    def _seen(self, packed: Any) -> None:
        self.count += 1
        chunks = packed if isinstance(packed, list | tuple) else [packed]
        data = b"".join(bytes(chunk) if not isinstance(chunk, str) else chunk.encode() for chunk in chunks)
        self.commands.update(name.decode().upper() for name in COMMAND.findall(data))

    def install(self) -> None:
        import redis.asyncio.connection
        import redis.connection

        for cls in (redis.connection.AbstractConnection, redis.asyncio.connection.AbstractConnection):
            original = cls.send_packed_command
            if inspect.iscoroutinefunction(original):

                async def counted_async(conn: Any, command: Any, *args: Any, _sent: Any = original, **kw: Any) -> Any:
                    self._seen(command)
                    return await _sent(conn, command, *args, **kw)

                cls.send_packed_command = counted_async
            else:

                def counted(conn: Any, command: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
                    self._seen(command)
                    return _original(conn, command, *args, **kw)

                cls.send_packed_command = counted


def percentile(values: list[float], p: float) -> float:
    return Result("", len(values), 0, values, {}).percentile(p)


# --- part 1: the checkout, with and without its e-mail job -----------------------------------------


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    # This process checks out hundreds of times as one shopper: lift the per-user cap of unpaid orders.
    os.environ["MAX_PENDING_ORDERS_PER_USER"] = "1000000"
    import django

    django.setup()


@contextmanager
def worker_paused(connection: Any, timeout: float = 60.0) -> Iterator[Callable[[], float]]:
    """Suspend the server's workers (RQ) until ``resume()``; yields ``resume``, which returns the time it resumed."""
    from rq.suspension import resume, suspend
    from rq.worker import Worker

    from common.jobs import QUEUE_EMAIL, job_enqueue

    def alive() -> list[Worker]:
        """Workers listed in Redis, less those of this machine whose process is gone (killed unregistered)."""
        here = socket.gethostname()
        return [worker for worker in Worker.all(connection=connection)
                if worker.hostname != here or Path(f"/proc/{worker.pid}").exists()]  # fmt: skip

    workers = alive()
    if not workers:
        raise SystemExit("no worker is running: start the server with `make run` (it starts one)")
    suspend(connection)
    for _worker in workers:  # wakes each worker blocked on its queues, so it looks at the suspension
        job_enqueue("time.sleep", queue=QUEUE_EMAIL, args=(0,))
    deadline = time.monotonic() + timeout
    while any(worker.get_state() != "suspended" for worker in alive()):
        if time.monotonic() > deadline:
            resume(connection)
            raise SystemExit("the worker did not pause within 60 s")
        time.sleep(0.1)
    resumed: list[float] = []

    def resume_now() -> float:
        resume(connection)
        resumed.append(time.time())
        return resumed[-1]

    try:
        yield resume_now
    finally:
        if not resumed:
            resume(connection)


def checkouts(count: int, trips: RoundTrips) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """``count`` checkouts queued as shipped and ``count`` without the queue, interleaved."""
    from accounts.models import User
    from orders import notifications, services
    from orders.models import ShippingAddress
    from shop.models import Product

    shopper = User.objects.get(email=SHOPPER)
    address = ShippingAddress(full_name="Bench Mark", line1="Calle Mayor 1", city="Madrid", postal_code="28013")
    products = list(Product.objects.filter(stock__gte=50).order_by("-stock").values_list("pk", "stock")[:40])
    units = sum(stock for _pk, stock in products)
    if units < 2 * count + 40:
        raise SystemExit(f"not enough stock for {2 * count} checkouts ({units} units in the 40 best-stocked products)")
    queued_original = notifications.order_event_mail_enqueue
    enqueue_ms: list[float] = []
    enqueue_trips: list[int] = []
    enqueue_commands: Counter[str] = Counter()

    def timed_enqueue(**kwargs: Any) -> None:
        before, commands = trips.count, trips.commands.copy()
        started = time.perf_counter()
        queued_original(**kwargs)
        enqueue_ms.append((time.perf_counter() - started) * 1000)
        enqueue_trips.append(trips.count - before)
        enqueue_commands.update(trips.commands - commands)

    variants = {"queued": timed_enqueue, "not queued": lambda **_kwargs: None}
    timings: dict[str, list[float]] = {name: [] for name in variants}
    round_trips: dict[str, list[int]] = {name: [] for name in variants}
    placed: dict[str, list[Any]] = {name: [] for name in variants}
    names = list(variants)

    def one(name: str, index: int) -> None:
        pk = products[index % len(products)][0]
        with mock.patch.object(notifications, "order_event_mail_enqueue", variants[name]):
            before = trips.count
            started = time.perf_counter()
            order = services.order_place(user=shopper, lines=[services.CartLine(str(pk), 1)], address=address)
            timings[name].append((time.perf_counter() - started) * 1000)
            round_trips[name].append(trips.count - before)
        placed[name].append(order)

    for index in range(10):  # warm-up, not counted
        one(names[index % 2], index)
    for name in names:
        timings[name].clear()
        round_trips[name].clear()
    warm = placed["queued"][:5] + placed["not queued"][:5]
    placed = {name: orders[5:] for name, orders in placed.items()}
    for index in range(count):
        for name in names if index % 2 == 0 else reversed(names):  # neither always runs second
            one(name, index)
    queued, plain = timings["queued"], timings["not queued"]
    added = statistics.median(b - a for a, b in zip(plain, queued, strict=True))
    extra_trips = statistics.mean(round_trips["queued"]) - statistics.mean(round_trips["not queued"])
    figures = {
        "checkouts": count,
        "queued_p50_ms": statistics.median(queued),
        "not_queued_p50_ms": statistics.median(plain),
        "added_p50_ms": added,
        "enqueue_p50_ms": statistics.median(enqueue_ms[5:]),
        "enqueue_p99_ms": percentile(enqueue_ms[5:], 99),
        "round_trips_queued": statistics.mean(round_trips["queued"]),
        "round_trips_not_queued": statistics.mean(round_trips["not queued"]),
        "extra_round_trips": extra_trips,
        "enqueue_round_trips_max": max(enqueue_trips[5:]),
        "enqueue_commands": {name: n / len(enqueue_trips) for name, n in enqueue_commands.most_common()},
    }
    print(f"\n## Checkout with and without its e-mail job, in-process, {count} each (interleaved)\n")
    print("| checkout | p50 ms | p99 ms | Redis round trips per checkout |")
    print("| --- | ---: | ---: | ---: |")
    for name in names:
        print(f"| {name} | {statistics.median(timings[name]):.2f} | {percentile(timings[name], 99):.2f} "
              f"| {statistics.mean(round_trips[name]):.2f} |")  # fmt: skip
    commands = ", ".join(f"{name} x {n:.2f}" for name, n in figures["enqueue_commands"].items())
    print(f"\nadded by the queue: {extra_trips:.2f} Redis round trips per checkout (target ≤ 1)")
    print(f"the enqueue itself, timed inside each checkout: p50 {figures['enqueue_p50_ms']:.3f} ms (target ≤ 1 ms), "
          f"p99 {figures['enqueue_p99_ms']:.3f} ms, at most {figures['enqueue_round_trips_max']} round trip(s); "
          f"commands sent per checkout: {commands}")  # fmt: skip
    print(
        f"median of the paired differences of whole checkouts: {added:+.3f} ms (noise: the checkouts' p50 and "
        "p99 above are far apart)"
    )
    return figures, placed["queued"], warm + placed["not queued"]


# --- part 2: one worker sending the queued e-mails ---------------------------------------------------


def drain(resume: Callable[[], float], orders: list[Any], connection: Any, timeout: float = 600.0) -> dict[str, Any]:
    from rq.job import Job

    from orders.notifications import mail_job_id

    ids = [mail_job_id(order.pk, 1) for order in orders]
    resumed = resume()
    deadline = time.monotonic() + timeout
    while True:
        jobs = [job for job in Job.fetch_many(ids, connection=connection) if job is not None]
        done = [job for job in jobs if job.get_status(refresh=False) in ("finished", "failed")]
        if len(done) == len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    finished = [job for job in done if job.get_status(refresh=False) == "finished" and job.started_at and job.ended_at]
    first = min(job.started_at.replace(tzinfo=UTC).timestamp() for job in finished)
    last = max(job.ended_at.replace(tzinfo=UTC).timestamp() for job in finished)
    durations = [(job.ended_at - job.started_at).total_seconds() * 1000 for job in finished]
    figures = {
        "jobs": len(ids),
        "finished": len(finished),
        "seconds": last - first,
        "emails_per_second": len(finished) / (last - first) if last > first else float("nan"),
        "job_p50_ms": statistics.median(durations),
        "wait_after_resume_ms": (first - resumed) * 1000,
    }
    print(f"\n## One worker sending {len(ids)} queued order e-mails to the server's sink\n")
    print(f"{len(finished)} sent in {figures['seconds']:.2f} s: **{figures['emails_per_second']:.1f} e-mails/s**; "
          f"each job p50 {figures['job_p50_ms']:.1f} ms (RQ's started/ended times)")  # fmt: skip
    if len(finished) < len(ids):
        print(f"warning: {len(ids) - len(finished)} jobs did not finish within {timeout:.0f} s or failed")
    return figures


def cancel_quietly(orders: list[Any]) -> None:
    """Cancel the benchmark's orders (units back on sale) without e-mails about it."""
    from accounts.models import User
    from orders import notifications, services
    from orders.models import Order

    shopper = User.objects.get(email=SHOPPER)
    with mock.patch.object(notifications, "order_event_mail_enqueue", return_value=None):
        for order in orders:
            services.order_cancel(order=Order.objects.get(pk=order.pk), actor=shopper)
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(notify_pending=False)


# --- part 3: the reset page for known and unknown addresses -------------------------------------------


def reset_timing(base: str, requests: int, redis_connection: Any) -> dict[str, Any]:
    from accounts.ratelimit import reset_ip_key

    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as client:
        page = client.get(RESET_PATH)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

        def post(kind: str, index: int) -> None:
            redis_connection.delete(reset_ip_key("127.0.0.1"))  # the benchmark asks far more often than a person may
            address = SHOPPER if kind == "known" else f"nobody-{index}@example.com"
            started = time.perf_counter()
            response = client.post(RESET_PATH, data={"email": address, "csrfmiddlewaretoken": token})
            timings[kind].append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] += 1

        for index in range(20):  # warm-up
            post("known" if index % 2 else "unknown", index)
        timings = {kind: [] for kind in timings}
        statuses.clear()
        for index in range(requests):
            for kind in ("known", "unknown") if index % 2 == 0 else ("unknown", "known"):
                post(kind, index)
    known, unknown = timings["known"], timings["unknown"]
    figures = {
        "requests": requests,
        "known_p50_ms": statistics.median(known),
        "known_p99_ms": percentile(known, 99),
        "unknown_p50_ms": statistics.median(unknown),
        "unknown_p99_ms": percentile(unknown, 99),
        "difference_p50_ms": statistics.median(known) - statistics.median(unknown),
        "statuses": dict(statuses),
    }
    print(f"\n## Password reset page, POST over HTTP, {requests} each (interleaved)\n")
    print("| address | p50 ms | p99 ms |")
    print("| --- | ---: | ---: |")
    print(f"| known ({SHOPPER}) | {figures['known_p50_ms']:.2f} | {figures['known_p99_ms']:.2f} |")
    print(f"| unknown | {figures['unknown_p50_ms']:.2f} | {figures['unknown_p99_ms']:.2f} |")
    difference = figures["difference_p50_ms"]
    print(f"\ndifference of the p50s (known - unknown): {difference:+.2f} ms; statuses {dict(statuses)}")
    return figures


# --- the rows `make bench` shows (benchmarks/run_all.py) -----------------------------------------------


def table_rows(figures: dict[str, Any] | None, failed: str) -> list[dict[str, Any]]:
    """``make bench``'s rows for these figures (what, figure, target, met, source); ``failed`` when there are none."""
    source = "`benchmarks/job_queue.py`"
    if not figures:
        return [{"what": "job queue: cost per checkout, e-mails per second", "figure": failed,
                 "target": "≤ 1 round trip, ≤ 1 ms", "met": False, "source": source}]  # fmt: skip
    checkout, worker, reset = figures["checkout"], figures["worker"], figures["reset"]
    return [
        {
            "what": "checkout, queueing its e-mail vs not (in-process, interleaved)",
            "figure": f"**+{checkout['extra_round_trips']:.2f} Redis round trip**; the enqueue p50 "
            f"**{checkout['enqueue_p50_ms']:.2f} ms** (checkout p50 {checkout['queued_p50_ms']:.0f} vs "
            f"{checkout['not_queued_p50_ms']:.0f} ms, median of paired differences "
            f"{checkout['added_p50_ms']:+.1f} ms: within the checkouts' own spread)",
            "target": "≤ 1 round trip, ≤ 1 ms at p50",
            "met": checkout["extra_round_trips"] <= 1 and checkout["enqueue_p50_ms"] <= 1,
            "source": source,
        },
        {
            "what": "order e-mails one worker sends to the local sink (`make run`: files under var/mail/)",
            "figure": f"**{worker['emails_per_second']:.0f} e-mails/s** ({worker['finished']} in "
            f"{worker['seconds']:.1f} s; job p50 {worker['job_p50_ms']:.1f} ms)",
            "target": "—",
            "met": None,
            "source": source,
        },
        {
            "what": "password reset page, known vs unknown address (HTTP POST)",
            "figure": f"p50 {reset['known_p50_ms']:.1f} vs {reset['unknown_p50_ms']:.1f} ms: "
            f"**{reset['difference_p50_ms']:+.2f} ms**",
            "target": "the same time",
            "met": None,
            "source": source,
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--checkouts", type=int, default=100, help="checkouts of each variant (part 1)")
    parser.add_argument("--resets", type=int, default=200, help="reset requests of each kind (part 3)")
    parser.add_argument(
        "--resets-with-worker", action="store_true", help="part 3 with the worker running (it mails known addresses)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    django_setup()
    import logging

    import django_rq

    from common.jobs import QUEUE_EMAIL

    logging.getLogger("httpx").setLevel(logging.WARNING)
    connection = django_rq.get_connection(QUEUE_EMAIL)
    trips = RoundTrips()
    trips.install()
    with worker_paused(connection) as resume:
        checkout, queued, plain = checkouts(args.checkouts, trips)
        worker = drain(resume, queued, connection)
    cancel_quietly(queued + plain)
    if args.resets_with_worker:
        reset = reset_timing(args.url.rstrip("/"), args.resets, connection)
    else:
        with worker_paused(connection):  # the page alone: no worker sending a known address's e-mail meanwhile
            reset = reset_timing(args.url.rstrip("/"), args.resets, connection)
    figures = {"checkout": checkout, "worker": worker, "reset": reset}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
