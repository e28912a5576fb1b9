"""The load test's analytics checks: live counters against `manage.py analytics_rebuild`, and the
Redis memory the analytics keys take (MEMORY USAGE), extrapolated to a day at the load's traffic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
# The figures analytics_rebuild recomputes from MongoDB (traffic is Redis's alone).
ORDER_FIGURES = ("orders", "units_sold", "paid", "cancelled", "expired", "revenue_minor", "paid_revenue",
                 "top_by_units", "top_by_revenue")  # fmt: skip
API = "/api/staff/analytics/"


def _kind(key: str) -> str:
    if key.startswith("an:event:"):
        return "event markers"
    if key.startswith("an:minute:"):
        return "minute buckets (2 h window)"
    if key.startswith("an:hour:"):
        return "hour buckets"
    if key.startswith("an:live:") or key == "an:push-lock":
        return "live sets"
    return "day keys (figures, traffic, visitors, top lists, names)"


def memory_figures(redis: Redis, *, seconds: float) -> dict[str, Any]:
    """Bytes of every ``an:*`` key by kind, and a day of history at this traffic (events scale with time)."""
    by_kind: dict[str, dict[str, int]] = {}
    for raw in redis.scan_iter(match="an:*", count=1000):
        key = raw.decode()
        kind = by_kind.setdefault(_kind(key), {"keys": 0, "bytes": 0})
        kind["keys"] += 1
        kind["bytes"] += int(redis.memory_usage(key, samples=0) or 0)
    markers = by_kind.get("event markers", {"keys": 0, "bytes": 0})
    hours = by_kind.get("hour buckets", {"keys": 0, "bytes": 0})
    day_keys = by_kind.get("day keys (figures, traffic, visitors, top lists, names)", {"keys": 0, "bytes": 0})
    per_marker = markers["bytes"] / markers["keys"] if markers["keys"] else 0
    per_hour = hours["bytes"] / hours["keys"] if hours["keys"] else 0
    events_per_day = markers["keys"] / seconds * 86_400 if seconds else 0
    # A day keeps: one marker per event, 24 hour buckets, and its day keys (bounded by the catalog, and
    # the HyperLogLog's 12 KB at most).
    per_day = events_per_day * per_marker + 24 * per_hour + day_keys["bytes"]
    return {
        "by_kind": by_kind,
        "total_bytes": sum(kind["bytes"] for kind in by_kind.values()),
        "events": markers["keys"],
        "seconds": round(seconds, 1),
        "events_per_day_at_this_rate": round(events_per_day),
        "bytes_per_marker": round(per_marker),
        "bytes_per_day_of_history": round(per_day),
    }


async def analytics_check(http: httpx.AsyncClient, staff_token: str, env: dict[str, str], *, seconds: float,
                          redis: Redis) -> dict[str, Any]:  # fmt: skip
    """Today's order figures as counted live, then as ``manage.py analytics_rebuild`` recomputes them."""
    headers = {"Authorization": f"Bearer {staff_token}"}
    memory = memory_figures(redis, seconds=seconds)
    live = (await http.get(API, headers=headers)).json()
    command_env = {
        **env,
        "MONGODB_URI": f"mongodb://127.0.0.1:{env['MONGODB_PORT']}/tienda?directConnection=true",
        "REDIS_URL": f"redis://127.0.0.1:{env['REDIS_PORT']}/0",
    }
    rebuild = subprocess.run(
        [sys.executable, "manage.py", "analytics_rebuild"], cwd=ROOT, env=command_env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    rebuilt = (await http.get(API, headers=headers)).json()
    live_figures = {name: live.get(name) for name in ORDER_FIGURES}
    rebuilt_figures = {name: rebuilt.get(name) for name in ORDER_FIGURES}
    return {
        "live": live_figures,
        "rebuilt": rebuilt_figures,
        "rebuild_output": (rebuild.stdout + rebuild.stderr).strip()[-500:],
        "equal": rebuild.returncode == 0 and live_figures == rebuilt_figures and live_figures["orders"] > 0,
        "memory": memory,
    }


def print_analytics(result: dict[str, Any]) -> None:
    """What the load's analytics check found."""
    live, memory = result["live"], result["memory"]
    verdict = "equal" if result["equal"] else f"DIFFERENT from the rebuild {result['rebuilt']}"
    print(f"Analytics: {live['orders']} orders, {live['paid']} paid, {live['cancelled']} cancelled, revenue "
          f"{live['revenue_minor']} (minor units): live counters {verdict} ({result['rebuild_output']})")  # fmt: skip
    print(
        f"Analytics Redis memory: {memory['total_bytes']:,} bytes in "
        f"{sum(kind['keys'] for kind in memory['by_kind'].values())} keys after {memory['seconds']} s "
        f"({memory['events']} order events counted); by kind: "
        + ", ".join(f"{name} {kind['bytes']:,} B / {kind['keys']} keys" for name, kind in memory["by_kind"].items())
    )
    print(
        f"  a day of history at this traffic ({memory['events_per_day_at_this_rate']:,} order events a day, "
        f"{memory['bytes_per_marker']} B per event marker): about {memory['bytes_per_day_of_history']:,} bytes"
    )
