"""The checks and the report of benchmarks/load.py: invariants read from MongoDB, figures printed."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from typing import Any

from _ws import percentile
from redis import Redis

LEGAL = {"pending": {"paid", "cancelled"}, "paid": {"shipped", "cancelled"}, "shipped": {"delivered"}}
RSS_GROWTH_LIMIT = 0.10  # "flat": at most 10 % above the RSS at the end of the warm-up


# --- Checks ------------------------------------------------------------------------------------


def check_stock(db: Any, scarce: list[str], initial: int) -> dict[str, Any]:
    """Per scarce product: units in orders that are not cancelled + stock left, against the start."""
    sold: Counter[str] = Counter()
    for order in db.orders_order.find({"status": {"$ne": "cancelled"}}, {"lines": 1}):
        for line in order["lines"]:
            sold[str(line["product_id"])] += line["quantity"]
    stock = {
        str(doc["_id"]): doc["stock"] for doc in db.shop_product.find({}, {"stock": 1}) if str(doc["_id"]) in scarce
    }
    rows = {pid: {"stock": stock[pid], "sold": sold[pid], "initial": initial} for pid in scarce}
    ledger = db.shop_product.find({"stock_ledger.0": {"$exists": True}}, {"stock_ledger": 1})
    return {
        "products": rows,
        "oversold_units": sum(max(0, row["sold"] - initial, -row["stock"]) for row in rows.values()),
        "mismatched": [pid for pid, row in rows.items() if row["stock"] + row["sold"] != initial],
        "ledger_entries": sum(len(doc["stock_ledger"]) for doc in ledger),
    }


def check_timelines(db: Any) -> dict[str, Any]:
    """Every order: seq 1..n, each entry starting where the last ended, legal moves, ending at its status."""
    broken = []
    orders = list(db.orders_order.find({}, {"number": 1, "status": 1, "seq": 1, "events": 1}))
    for order in orders:
        events = order["events"]
        steps = [(event["from_status"], event["to_status"]) for event in events]
        problems = []
        if [event["seq"] for event in events] != list(range(1, order["seq"] + 1)):
            problems.append("seq")
        if not steps or steps[0] != ("", "pending") or steps[-1][1] != order["status"]:
            problems.append("ends")
        for (_, before), (came_from, to) in itertools.pairwise(steps):
            if came_from != before or to not in LEGAL.get(came_from, ()):
                problems.append(f"{came_from}->{to}")
        if problems:
            broken.append({"number": order["number"], "problems": problems, "steps": steps})
    return {"orders": len(orders), "events": sum(len(o["events"]) for o in orders), "broken": broken}


def check_listeners(db: Any, listeners: list[Any]) -> dict[str, Any]:
    """Each socket's final resync must show what MongoDB holds."""
    statuses = {str(doc["_id"]): doc["status"] for doc in db.orders_order.find({}, {"status": 1})}
    disagreeing = {
        listener.name: {
            oid: (shown, statuses.get(oid))
            for oid, shown in (listener.final or {}).items()
            if statuses.get(oid) != shown
        }
        for listener in listeners
    }
    return {
        "sockets": len(listeners),
        "pushes": sum(listener.pushes for listener in listeners),
        "out_of_order_pushes": sum(listener.older_pushes for listener in listeners),
        "reconnects": sum(listener.reconnects for listener in listeners),
        "without_final_resync": [listener.name for listener in listeners if listener.final is None],
        # Pushes are a courtesy (pages resync); how often did they alone keep a view current?
        "views_current_by_pushes": sum(
            listener.live_view.get(oid) == statuses.get(oid) for listener in listeners for oid in listener.final or {}
        ),
        "views": sum(len(listener.final or {}) for listener in listeners),
        "disagreeing": {name: rows for name, rows in disagreeing.items() if rows},
    }


def rss_figures(samples: list[tuple[float, int]], started: float, warmup: float) -> dict[str, Any]:
    after_warmup = next((kb for at, kb in samples if at >= started + warmup), samples[-1][1])
    peak_after = max((kb for at, kb in samples if at >= started + warmup), default=after_warmup)
    return {
        "start_kb": samples[0][1],
        "after_warmup_kb": after_warmup,
        "end_kb": samples[-1][1],
        "peak_after_warmup_kb": peak_after,
        "growth_after_warmup": round(samples[-1][1] / after_warmup - 1, 4),
        "slope_after_warmup_mib_per_min": _slope([(at, kb) for at, kb in samples if at >= started + warmup]),
        "samples": len(samples),
        # (seconds since the load began, MiB) every 15 s, for the notes
        "series": [(round(at - started), round(kb / 1024, 1)) for at, kb in samples[:: max(1, 15)]],
    }


def _slope(points: list[tuple[float, int]]) -> float | None:
    """Least-squares trend of RSS over time, MiB per minute."""
    if len(points) < 3:
        return None
    slope = statistics.linear_regression([at for at, _ in points], [kb for _, kb in points]).slope
    return round(slope * 60 / 1024, 2)


# --- Report ------------------------------------------------------------------------------------


def kinds_table(kinds: dict[str, Any], seconds: float) -> tuple[str, dict[str, Any]]:
    total = sum(len(kind.latencies_ms) for kind in kinds.values()) or 1
    rows, figures = [], {}
    header = f"{'kind':<16}{'requests':>9}{'share':>8}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}  statuses"
    for name in sorted(kinds):
        kind = kinds[name]
        count = len(kind.latencies_ms)
        figures[name] = {
            "requests": count,
            "share": round(count / total, 4),
            "rate": round(count / seconds, 1),
            "p50_ms": round(statistics.median(kind.latencies_ms), 1) if count else None,
            "p99_ms": round(percentile(kind.latencies_ms, 99), 1) if count else None,
            "statuses": dict(sorted(kind.statuses.items())),
            "transport_errors": len([e for e in kind.errors if not e[:3].isdigit()]),
        }
        row = figures[name]
        statuses = " ".join(f"{code}:{n}" for code, n in row["statuses"].items())
        rows.append(
            f"{name:<16}{count:>9}{row['share'] * 100:>7.1f}%{row['rate']:>8.1f}"
            f"{row['p50_ms'] or 0:>9.1f}{row['p99_ms'] or 0:>9.1f}  {statuses}"
        )
    all_latencies = [ms for kind in kinds.values() for ms in kind.latencies_ms]
    rows.append(
        f"{'all':<16}{len(all_latencies):>9}{100:>7.1f}%{len(all_latencies) / seconds:>8.1f}"
        f"{statistics.median(all_latencies) if all_latencies else 0:>9.1f}{percentile(all_latencies, 99):>9.1f}"
    )
    return "\n".join([header, *rows]), figures


def cache_figures(redis: Redis) -> dict[str, Any]:
    """The catalog cache's counters (shop/cache.py) per namespace family: lookups, misses, hit ratio."""
    figures = {}
    for key in sorted(redis.keys("cache:shop:stats:*")):
        counts = {name.decode(): int(value) for name, value in redis.hgetall(key).items()}
        lookups = counts.get("lookup", 0)
        hit_ratio = round(1 - counts.get("miss", 0) / lookups, 3) if lookups else None
        figures[key.decode().rsplit(":", 1)[1]] = {**counts, "hit_ratio": hit_ratio}
    return figures


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    return {
        "no 5xx and no transport errors": not result["server_errors"],
        "no unit oversold, none lost": result["stock"]["oversold_units"] == 0 and not result["stock"]["mismatched"],
        "stock ledger empty": result["stock"]["ledger_entries"] == 0,
        "every timeline complete and in sequence": not result["timelines"]["broken"],
        "every socket agrees with MongoDB after its resync": not result["sockets"]["disagreeing"]
        and not result["sockets"]["without_final_resync"],
        f"app RSS flat after warm-up (growth <= {RSS_GROWTH_LIMIT:.0%})": result["rss"]["growth_after_warmup"]
        <= RSS_GROWTH_LIMIT,
        "analytics counters equal analytics_rebuild": result["analytics"]["equal"],
    }


def print_result(result: dict[str, Any], checks: dict[str, bool]) -> None:
    print(f"\nRequests ({result['seconds']} s):\n{result['table']}")
    sockets, rss = result["sockets"], result["rss"]
    print(
        f"\nSockets: {sockets['sockets']}, pushes received {sockets['pushes']} "
        f"(out of order {sockets['out_of_order_pushes']}), reconnects {sockets['reconnects']}"
    )
    print(
        f"Order views kept current by pushes alone: {sockets['views_current_by_pushes']} of {sockets['views']} "
        "(every socket then resynced)"
    )
    cache = ", ".join(
        f"{family} {row['hit_ratio']:.0%} of {row.get('lookup', 0)}"
        for family, row in result["cache"].items()
        if row["hit_ratio"] is not None
    )
    print(f"Catalog cache hit ratio (lookups): {cache}")
    print(f"Orders: {result['timelines']['orders']}, timeline entries {result['timelines']['events']}")
    for pid, row in result["stock"]["products"].items():
        print(f"Scarce product {pid}: initial {row['initial']}, sold {row['sold']}, left {row['stock']}")
    print(
        f"App RSS: start {rss['start_kb'] / 1024:.1f} MiB, after warm-up {rss['after_warmup_kb'] / 1024:.1f} MiB, "
        f"end {rss['end_kb'] / 1024:.1f} MiB (peak after warm-up {rss['peak_after_warmup_kb'] / 1024:.1f} MiB, "
        f"growth {rss['growth_after_warmup']:+.1%}, trend {rss['slope_after_warmup_mib_per_min']} MiB/min)"
    )
    print("App RSS every 15 s (s: MiB): " + ", ".join(f"{at}: {mib}" for at, mib in rss["series"]))
    print("\nChecks:")
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAILED'}] {name}")
    for error in result["server_errors"][:10]:
        print(f"    {error}")
