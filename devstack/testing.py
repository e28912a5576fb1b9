"""Start `python -m devstack run` (what `make run` executes) from tests, on free ports.

Used by the launcher's own tests, the end-to-end journeys and the fault tests: each gets the
real server, MongoDB (SQLite engine) and Redis exactly as a developer would, in a temporary
var directory, and everything stops when the context exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import free_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
def running_stack(env: dict[str, str], log_path: Path, *, timeout: float = 120.0) -> Iterator[RunningStack]:
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
        deadline = time.monotonic() + timeout
        while "Tienda is running at" not in stack.output:
            if process.poll() is not None:
                raise RuntimeError(f"devstack run exited early:\n{stack.output}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"devstack run did not start within {timeout:.0f} s:\n{stack.output}")
            time.sleep(0.2)
        yield stack
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
