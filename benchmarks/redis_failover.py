"""`make failover`: kill the Redis primary (SIGKILL) under mixed load on two app processes and a
worker, then kill one app process, and print what the load saw (devstack/failover.py runs it).

Everything runs on loopback here: a Redis primary, two replicas and three sentinels (Debian's
redis-server and redis-sentinel), mongoeco, two uvicorn app processes on two ports, the job
queue's worker. Prints: the seconds from the kill until authenticated calls succeed again, the
calls refused meanwhile (by status: 503 expected, never 500), the logouts answered before the
kill that still reject their token, the order pages showing their order's current state at the
end (and how many moved to the other process in the second round), and the order e-mail events
sent or not. tests/test_redis_failover.py runs a short form in `make test`.

    .venv/bin/python benchmarks/redis_failover.py [--warm 10] [--after-recovery 10] [--after-app-kill 10] [--pages 12]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.failover import Result, run_drill  # noqa: E402 - after the path set-up, as the other benchmarks


def report(result: Result) -> str:
    """The figures, one per line."""
    redis_round, app_round = result.redis_round, result.app_round
    synced, pages = result.pages
    lines = [
        "Round 1: the Redis primary killed (SIGKILL)",
        f"  seconds until authenticated calls succeed again: {redis_round['recovery_seconds']}",
        f"  calls refused meanwhile, by status: {redis_round['refused'] or 'none'}",
        f"  500s: {redis_round['server_errors']}",
        f"  calls in the round, by kind and status: {redis_round['by_kind']}",
        "Round 2: one app process killed (SIGKILL)",
        f"  calls sent to the dead process (then to the other, as a load balancer): {app_round['no_connection']}",
        f"  calls refused, by status: {app_round['refused'] or 'none'}",
        f"  status changes sent again whose first process had stored them (409): {app_round['conflicts_after_retry']}",
        f"  500s: {app_round['server_errors']}",
        f"  calls in the round, by kind and status: {app_round['by_kind']}",
        "After both",
        *(
            f"  revocations (API logouts answered 204) {when} of the Redis primary, still rejecting after both: "
            f"{refused} of {checked}"
            for when, (refused, checked) in result.revocations.items()
        ),
        f"  order pages showing their order's current status and seq: {synced} of {pages}",
        f"  order pages of the killed process reconnected to the other: {result.page_moves}",
        *(f"    behind: {page}" for page in result.behind),
        f"  order e-mail events: {result.jobs['events']}, sent: {result.jobs['sent']}, "
        f"not sent: {result.jobs['not sent']}",
        "  seconds: " + ", ".join(f"{name} {value:.1f}" for name, value in result.timings.items()),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=float, default=10.0, help="seconds of load before the Redis primary is killed")
    parser.add_argument("--after-recovery", type=float, default=10.0, help="seconds of load after the app recovers")
    parser.add_argument("--after-app-kill", type=float, default=10.0, help="seconds of load after an app process dies")
    parser.add_argument(
        "--pages", type=int, default=12, help="open order pages (each order is paid, shipped, delivered)"
    )
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="tienda-failover-"))
    result = run_drill(
        var_dir / "var",
        warm=args.warm,
        after_recovery=args.after_recovery,
        after_app_kill=args.after_app_kill,
        tracked_orders=args.pages,
    )
    print(report(result), flush=True)
    lost = (
        result.redis_round["server_errors"]
        or result.app_round["server_errors"]
        or any(refused != checked for refused, checked in result.revocations.values())
        or result.pages[0] != result.pages[1]
        or result.jobs["not sent"]
    )
    if lost:  # the processes' logs, for finding out why
        print(f"Something was lost; the logs of every process are under {var_dir / 'var'}", flush=True)
        return 1
    shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
