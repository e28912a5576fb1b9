"""`python -m devstack run` (what `make run` executes), as a user would drive it.

Slow by nature: each start applies migrations on the SQLite engine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    port: int
    log_path: Path

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def get(self, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=15) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, read from /proc."""
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = (task / "children").read_text().split() if (task / "children").exists() else []
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def stack_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("MONGODB_URI", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        TIENDA_VAR_DIR=str(var_dir),
        PORT=str(free_port()),
        REDIS_PORT=str(free_port()),
        MONGODB_PORT=str(free_port()),
        MONGODB_TIMEOUT_MS="1500",
        DEMO_CATALOG_SIZE="60",  # the full 5,000 take ~100 s on the SQLite engine
    )
    env.update(overrides)
    return env


@contextmanager
def running_stack(env: dict[str, str], log_path: Path) -> Iterator[RunningStack]:
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    stack = RunningStack(process, int(env["PORT"]), log_path)
    try:
        deadline = time.monotonic() + 120
        while "Tienda is running at" not in stack.output:
            assert process.poll() is None, f"devstack run exited early:\n{stack.output}"
            assert time.monotonic() < deadline, f"devstack run did not start:\n{stack.output}"
            time.sleep(0.2)
        yield stack
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def stop_and_check_nothing_is_left(stack: RunningStack, signum: int = signal.SIGTERM) -> None:
    children = descendants(stack.process.pid)
    assert len(children) >= 3, "expected redis-server, mongoeco and the ASGI server"
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
        assert f"http://127.0.0.1:{stack.port}/admin/" in stack.output.splitlines()[-5]
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
