"""What counting page views costs the cached catalog: the cached category listing's req/s as a share of
`/livez`, on a server with analytics on and on one with analytics off, measured in the same run.

Both servers use the same MongoDB and Redis (`make bench` starts the second with ANALYTICS_ENABLED=0
beside the first). The phases alternate between the servers, round after round, so a change in the
machine's load falls on both. It also reads how many page views the server with analytics counted
(Redis `an:traffic:*`, after a flush interval), so a counter that silently stopped shows.

    .venv/bin/python benchmarks/analytics.py --url-on http://127.0.0.1:8000 --url-off http://127.0.0.1:8001
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import Result, run_load
from _process import pin_to_last_core
from catalog import row

TARGET = 0.70


def views_counted(redis_url: str) -> int:
    """Page views in Redis across every day (``an:traffic:<day>`` hashes)."""
    import redis

    connection = redis.Redis.from_url(redis_url)
    return sum(int(connection.hget(key, "views") or 0) for key in connection.scan_iter(match="an:traffic:*"))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url-on", required=True, help="a server with analytics on (the default)")
    parser.add_argument("--url-off", required=True, help="a server with ANALYTICS_ENABLED=0")
    parser.add_argument("--redis-url", required=True, help="the servers' Redis")
    parser.add_argument("--category", default="clothing")
    parser.add_argument("--requests", type=int, default=2000, help="per phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=30, help="per phase")
    parser.add_argument("--flush-wait", type=float, default=2.5, help="seconds for the last flush to land")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    affinity = pin_to_last_core()
    listing = f"/c/{args.category}/?sort=price"
    servers = {"on": args.url_on.rstrip("/"), "off": args.url_off.rstrip("/")}
    for base in servers.values():  # warm: the cached page, the code paths
        await run_load("warm", base, lambda i: (listing, "/livez")[i % 2], requests=40, concurrency=2, max_seconds=60)
    await asyncio.sleep(args.flush_wait)
    counted_before = views_counted(args.redis_url)
    totals: dict[str, dict[str, list[Result]]] = {name: {"livez": [], "listing": []} for name in servers}
    print(f"{affinity}; concurrency {args.concurrency}; {args.rounds} rounds of {args.requests} requests per phase\n")
    print("| phase | requests | req/s | p50 ms | p99 ms | statuses | 5xx |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for _round in range(args.rounds):
        for name, base in servers.items():
            for what, path in (("livez", "/livez"), ("listing", listing)):
                result = await run_load(
                    f"analytics {name}: {'/livez' if what == 'livez' else 'listing page, cached'}", base,
                    lambda i, path=path: path, requests=args.requests, concurrency=args.concurrency,
                    max_seconds=args.max_seconds,
                )  # fmt: skip
                totals[name][what].append(result)
                print(row(result), flush=True)
    await asyncio.sleep(args.flush_wait)
    counted = views_counted(args.redis_url) - counted_before
    figures: dict[str, object] = {}
    for name, phases in totals.items():
        rps = {
            what: sum(r.requests for r in results) / sum(r.seconds for r in results) for what, results in phases.items()
        }
        figures[name] = {
            "livez_rps": rps["livez"],
            "listing_rps": rps["listing"],
            "ratio": rps["listing"] / rps["livez"],
        }
    listing_on = sum(r.requests for r in totals["on"]["listing"])
    figures["views_sent_on"], figures["views_counted_on"] = listing_on, counted
    print("\n| server | cached listing req/s | /livez req/s | ratio | target |\n| --- | --- | --- | --- | --- |")
    for name in servers:
        f = figures[name]
        target = f">= {TARGET}" if name == "on" else ""
        print(f"| analytics {name} | {f['listing_rps']:,.0f} | {f['livez_rps']:,.0f} | {f['ratio']:.2f} | {target} |")
    print(f"\npage views sent to the server with analytics: {listing_on:,}; counted in Redis: {counted:,}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    errors = sum(c for p in totals.values() for rs in p.values() for r in rs for s, c in r.statuses.items() if s >= 500)
    return 1 if errors or counted < listing_on else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
