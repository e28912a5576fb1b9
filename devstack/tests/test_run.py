"""`python -m devstack run` (what `make run` executes), as a user would drive it.

Slow by nature: each start applies migrations on the SQLite engine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.processes import free_port
from devstack.testing import ROOT, RunningStack, alive, descendants, running_stack, stack_env

pytestmark = pytest.mark.slow


def stop_and_check_nothing_is_left(stack: RunningStack, signum: int = signal.SIGTERM) -> None:
    children = descendants(stack.process.pid)
    assert len(children) >= 4, "expected redis-server, mongoeco, the ASGI server and the worker"
    assert any(b"rqworker" in _cmdline(pid) for pid in children), "the job queue's worker is not running"
    stack.process.send_signal(signum)
    stack.process.wait(30)
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)], stack.output


def test_serves_health_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    env = stack_env(tmp_path / "var")
    with running_stack(env, tmp_path / "first.log") as stack:
        status, body = stack.get("/healthz")
        assert status == 200
        assert body["dependencies"]["mongodb"]["status"] == "ok"
        assert body["dependencies"]["redis"]["status"] == "ok"
        assert "created demo account admin@example.com" in stack.output
        banner = stack.output.split("Tienda is running at", 1)[1]
        assert f"  admin:  http://127.0.0.1:{stack.port}/admin/" in banner
        assert "mode:   production-like (DEBUG off, strict Content-Security-Policy)" in banner
        assert f"queues: http://127.0.0.1:{stack.port}/admin/django_rq/dashboard/" in banner
        assert f"e-mails the shop sent: {tmp_path / 'var' / 'mail'}/" in banner
        stop_and_check_nothing_is_left(stack, signal.SIGTERM)
        assert stack.process.returncode == 0

    with running_stack(env, tmp_path / "second.log") as stack:
        # The SQLite engine kept the users: nothing is seeded the second time.
        assert "database already has data" in stack.output
        assert "created demo account" not in stack.output
        stop_and_check_nothing_is_left(stack, signal.SIGINT)


def test_children_die_with_a_killed_launcher(tmp_path: Path) -> None:
    with running_stack(stack_env(tmp_path / "var"), tmp_path / "run.log") as stack:
        stop_and_check_nothing_is_left(stack, signal.SIGKILL)


def test_healthz_names_mongodb_when_it_goes_down(tmp_path: Path) -> None:
    with running_stack(stack_env(tmp_path / "var"), tmp_path / "run.log") as stack:
        mongo_pids = [pid for pid in descendants(stack.process.pid) if b"mongo_server" in _cmdline(pid)]
        assert len(mongo_pids) == 1
        os.kill(mongo_pids[0], signal.SIGKILL)
        status, body = stack.get("/healthz")
        assert status == 503
        assert body["dependencies"]["mongodb"]["status"] == "down"
        assert body["dependencies"]["redis"]["status"] == "ok"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


@pytest.mark.parametrize(
    ("variable", "url"),
    [("MONGODB_URI", "mongodb://127.0.0.1:{port}/tienda"), ("REDIS_URL", "redis://127.0.0.1:{port}/0")],
)
def test_unreachable_dependency_is_a_clear_startup_error(tmp_path: Path, variable: str, url: str) -> None:
    address = url.format(port=free_port())
    env = stack_env(tmp_path / "var", **{variable: address})
    result = subprocess.run(
        [sys.executable, "-m", "devstack", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"cannot reach {'mongodb' if variable == 'MONGODB_URI' else 'redis'} at {address}" in output
    assert f"(from {variable})" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("value", ["0", "two", "65"])
def test_a_bad_web_concurrency_stops_start_up_before_anything_starts(tmp_path: Path, value: str) -> None:
    env = stack_env(tmp_path / "var", WEB_CONCURRENCY=value)
    result = subprocess.run(
        [sys.executable, "-m", "devstack", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"WEB_CONCURRENCY must be a whole number of app processes from 1 to 64, not {value!r}" in output
    assert "Starting MongoDB" not in output
    assert not (tmp_path / "var").exists()


def test_sentinels_that_do_not_answer_stop_startup_naming_the_setting_and_each_address(tmp_path: Path) -> None:
    sentinels = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    env = stack_env(tmp_path / "var", REDIS_SENTINELS=sentinels, REDIS_MASTER_NAME="tienda")
    result = subprocess.run(
        [sys.executable, "-m", "devstack", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"cannot reach redis at sentinels {sentinels} (primary 'tienda') (from REDIS_SENTINELS)" in output
    for address in sentinels.split(","):
        assert f"{address}: ConnectionError" in output
    assert "Traceback" not in output


def test_a_sentinel_list_that_does_not_parse_stops_startup_naming_the_setting(tmp_path: Path) -> None:
    env = stack_env(tmp_path / "var", REDIS_SENTINELS="10.0.0.1:26379,sentinel-two", REDIS_MASTER_NAME="tienda")
    result = subprocess.run(
        [sys.executable, "-m", "devstack", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "REDIS_SENTINELS='10.0.0.1:26379,sentinel-two' does not parse" in output
    assert "the entry 'sentinel-two' is not one" in output
    assert "Traceback" not in output
