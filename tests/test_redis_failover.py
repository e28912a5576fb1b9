"""The Redis primary dies (SIGKILL) under load on two app processes and a worker; then one app
process dies. The short form of `make failover` (devstack/failover.py says what runs and how).

Expected: the app follows the new primary without a restart; no 500s, and only 503s for calls
that needed Redis during the gap; every logout answered 204 before the kill still rejects its
token; every open order page ends showing its order's current status (pushes or resync), the
pages of the killed process having reconnected to the other; every order e-mail event is sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.failover import run_drill

pytestmark = pytest.mark.slow


def test_a_redis_primary_and_an_app_process_die_under_load_and_nothing_is_lost(tmp_path: Path) -> None:
    result = run_drill(tmp_path / "var", warm=2, after_recovery=2, after_app_kill=3, tracked_orders=4)
    described = repr(result)

    redis_round = result.redis_round
    assert redis_round["recovery_seconds"] is not None, described
    assert redis_round["recovery_seconds"] < 20, described
    assert set(redis_round["refused"]) <= {503}, described  # refused, never failed
    assert redis_round["refused"].get(503, 0) > 0, described  # the gap was real: calls met it
    assert redis_round["by_kind"].get("browse 200", 0) > 0, described
    assert not any(key.startswith("browse") and not key.endswith((" 200", " 0")) for key in redis_round["by_kind"])
    assert result.redis_round["server_errors"] == 0, described
    assert result.app_round["server_errors"] == 0, described

    # The second round: one app process gone; the load and the pages moved to the other.
    assert set(result.app_round["refused"]) <= {503}, described
    assert result.app_round["by_kind"].get("authenticated 200", 0) > 0, described

    refused, checked = result.revocations["before the kill"]
    assert checked > 0, described
    assert refused == checked, described
    refused, checked = result.revocations["after the kill"]
    assert refused == checked, described
    synced, pages = result.pages
    assert synced == pages, described
    assert result.page_moves > 0, described
    assert result.jobs["events"] > 0, described
    assert result.jobs["not sent"] == 0, described
