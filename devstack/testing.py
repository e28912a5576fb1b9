"""Start `python -m devstack run` (what `make run` executes) from tests, on free ports.

Used by the launcher's own tests, the end-to-end journeys and the fault tests: each gets the
real server, MongoDB (SQLite engine) and Redis exactly as a developer would, in a temporary
var directory, and everything stops when the context exits.
"""

from __future__ import annotations

import asyncio
import functools
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Self

from devstack.__main__ import asgi_server_argv, worker_argv
from devstack.processes import ManagedProcess, ProcessGroup, free_port
from devstack.services import start_mongo, start_redis

if TYPE_CHECKING:
    import pymongo

ROOT = Path(__file__).resolve().parent.parent
# `make run`'s settings with the in-process tests' password hasher (config/settings/test_stack.py),
# for the stacks tests start to check the application rather than the launcher.
TEST_STACK_SETTINGS = "config.settings.test_stack"


# The demo accounts (`seed_demo`) and a shipping address, as the fault tests and the failover drill use them.
SHOPPER, ADMIN = "shopper@example.com", "admin@example.com"
ADDRESS = {
    "full_name": "Ana García",
    "line1": "Calle Mayor 1",
    "city": "Madrid",
    "postal_code": "28013",
    "country": "ES",
}


@dataclass
class BackgroundLoop:
    """Runs the subclass's ``_run`` coroutine on an event loop of its own, in a daemon thread."""

    _stop: threading.Event = field(default_factory=threading.Event, kw_only=True)
    _thread: threading.Thread | None = field(default=None, kw_only=True)

    async def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)


class LoopbackUrls:
    """``base_url`` and ``ws_url`` of a server on 127.0.0.1:``port`` (the class provides ``port``)."""

    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@dataclass
class RunningStack(LoopbackUrls):
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
        # SIGTERM: the launcher stops the app before Redis and MongoDB (last started first),
        # so the app's shutdown does not log errors about servers that are already gone.
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def wait_for_worker(process: ManagedProcess, timeout: float = 60.0) -> None:
    """Return once the job queue's worker ``process`` (its output in its log file) listens on its queues."""
    deadline = time.monotonic() + timeout
    while "Listening on" not in process.log_tail(10_000):
        if not process.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the worker {process.name} did not start:\n{process.log_tail(40)}")
        time.sleep(0.1)


# --- mongoeco alone -------------------------------------------------------------------------


@contextmanager
def wire_server(
    *, sqlite_path: Path | None = None, without: tuple[str, ...] = (), timeout: float = 60.0
) -> Iterator[pymongo.MongoClient]:
    """A mongoeco wire server in its own process (memory engine, or SQLite at ``sqlite_path``),
    with every compatibility fix but those in ``without``, and a client connected to it.

    The process is forked from a server of this test process's own (multiprocessing's forkserver)
    that has imported mongoeco once: each fixes its own copy of mongoeco's classes, as a fresh
    interpreter would, without paying the import again.
    """
    import pymongo

    from devstack.mongo_server import serve_on_loopback

    engine, path = ("sqlite", str(sqlite_path)) if sqlite_path else ("memory", None)
    servers = _fork_server()
    receiving, sending = servers.Pipe(duplex=False)
    # Port 0: the server binds a port the system picks and sends its URI. A port chosen here first
    # could be taken by another process before the server binds it, and that listener would look
    # like the server.
    process = servers.Process(target=serve_on_loopback, args=(sending, engine, path, without), daemon=True)
    process.start()
    sending.close()
    try:
        if not multiprocessing.connection.wait([receiving, process.sentinel], timeout):
            raise RuntimeError("mongoeco server did not start")
        try:
            uri = receiving.recv()
        except EOFError:
            process.join(15)
            raise RuntimeError(f"mongoeco server exited during start-up (code {process.exitcode})") from None
        client = pymongo.MongoClient(f"{uri}?directConnection=true", serverSelectionTimeoutMS=5000)
        try:
            yield client
        finally:
            client.close()
    finally:
        receiving.close()
        process.terminate()
        process.join(30)


@functools.cache
def _fork_server() -> multiprocessing.context.ForkServerContext:
    from devstack.mongo_server import imported_before_ready

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(imported_before_ready())
    return context


# --- MongoDB, Redis and the app as separate processes (fault tests, load) -----------------


@dataclass
class SplitStack(LoopbackUrls):
    """MongoDB (SQLite engine), Redis (append-only) and the ASGI app, each on a fixed port.

    Unlike `running_stack`, the test holds each process, so it can stop one dependency and
    start it again on the same port and data while the app keeps running.
    """

    var_dir: Path
    env: dict[str, str]
    group: ProcessGroup = field(default_factory=ProcessGroup)
    redis: ManagedProcess | None = None
    mongo: ManagedProcess | None = None
    app: ManagedProcess | None = None
    worker: ManagedProcess | None = None

    @property
    def port(self) -> int:
        return int(self.env["PORT"])

    def start_redis(self) -> None:
        """Start redis-server on REDIS_PORT with its append-only file under var/redis."""
        port = int(self.env["REDIS_PORT"])
        start_redis(self.group, port=port, data_dir=self.var_dir / "redis", log_path=self.var_dir / "redis.log")
        self.redis = self.group.processes[-1]

    def start_mongo(self) -> None:
        """Start mongoeco (SQLite engine: the data survive a kill) on MONGODB_PORT."""
        port = int(self.env["MONGODB_PORT"])
        path = self.var_dir / "mongo" / "tienda.sqlite3"
        start_mongo(self.group, port=port, sqlite_path=path, log_path=self.var_dir / "mongo.log")
        self.mongo = self.group.processes[-1]

    def start_app(self, timeout: float = 60.0) -> None:
        """Start the ASGI server (as `make run` does) and wait until /healthz answers 200."""
        self.app = self.group.spawn(
            "asgi-server", asgi_server_argv(port=self.port), env=self.env, cwd=ROOT, log_path=self.var_dir / "app.log"
        )
        deadline = time.monotonic() + timeout
        while status_of(f"{self.base_url}/healthz") != 200:
            if not self.app.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not become healthy:\n{self.app.log_tail(40)}")
            time.sleep(0.2)

    def start_worker(self) -> None:
        """Start the job queue's worker with its scheduler (as `make run` does) and wait until it
        listens; e-mails go to var/mail."""
        log_path = self.var_dir / "worker.log"
        self.worker = self.group.spawn("worker", worker_argv(), env=self.env, cwd=ROOT, log_path=log_path)
        wait_for_worker(self.worker)

    @staticmethod
    def kill(process: ManagedProcess | None, signum: int = signal.SIGKILL) -> None:
        """Stop ``process`` abruptly (SIGKILL by default: a crash, not a shutdown)."""
        if process is not None and process.alive():
            process.popen.send_signal(signum)
            process.popen.wait(15)

    def prepare(self) -> str:
        """Check the dependencies, migrate and seed, as `make run` does (devstack/prepare.py)."""
        return self._run("-m", "devstack.prepare")

    def manage(self, *args: str) -> str:
        """Run ``manage.py`` with the stack's environment; its output, or an error with it."""
        return self._run("manage.py", *args)

    def _run(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 - argv built here
            [sys.executable, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout


def status_of(url: str, timeout: float = 5.0) -> int | None:
    """The HTTP status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback test URLs
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@contextmanager
def split_stack(var_dir: Path, **overrides: str) -> Iterator[SplitStack]:
    """Redis, MongoDB and the app started separately on free ports, migrated and seeded; stopped on exit."""
    var_dir.mkdir(parents=True, exist_ok=True)
    env = stack_env(
        var_dir,
        DJANGO_DEBUG="0",
        DJANGO_SETTINGS_MODULE=TEST_STACK_SETTINGS,
        EMAIL_FILE_PATH=str(var_dir / "mail"),
        **overrides,
    )
    env["REDIS_URL"] = f"redis://127.0.0.1:{env['REDIS_PORT']}/0"
    env["MONGODB_URI"] = f"mongodb://127.0.0.1:{env['MONGODB_PORT']}/tienda?directConnection=true"
    stack = SplitStack(var_dir, env)
    try:
        stack.start_redis()
        stack.start_mongo()
        stack.prepare()
        stack.start_app()
        stack.start_worker()
        yield stack
    finally:
        stack.group.stop_all()
