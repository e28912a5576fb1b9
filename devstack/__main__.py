"""`python -m devstack run|test`: the engines behind `make run` and `make test`.

Both start embedded MongoDB and Redis and stop every process they started on exit, SIGINT or
SIGTERM. `run` uses MONGODB_URI / REDIS_URL (or REDIS_SENTINELS) instead when set; `test` never does (its servers:
devstack/testservers.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from common.yes_no import yes_no
from devstack import WS_MAX_SIZE_BYTES
from devstack.app_processes import wait_until_all_serve
from devstack.processes import ManagedProcess, ProcessGroup, StartupError, die_with_parent, port_in_use
from devstack.services import start_mongo, start_redis
from devstack.testservers import start_test_servers, worker_args

ROOT = Path(__file__).resolve().parent.parent


class Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGINT so cleanup runs in `finally`."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def _step(message: str) -> float:
    print(f"==> {message}", flush=True)
    return time.monotonic()


def _done(started: float) -> None:
    print(f"    done in {time.monotonic() - started:.1f} s", flush=True)


def _prepare(env: dict[str, str]) -> None:
    """Check the dependencies, migrate and seed (devstack/prepare.py prints each step)."""
    result = subprocess.run([sys.executable, "-m", "devstack.prepare"], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        raise StartupError(f"start-up stopped (exit {result.returncode}); see the message above.")


def start_dependencies(group: ProcessGroup, env: dict[str, str], *, var_dir: Path) -> None:
    """Start Redis and MongoDB with their data under ``var_dir``, unless the environment points at running ones."""
    if os.environ.get("REDIS_SENTINELS"):
        print("    Redis: using REDIS_SENTINELS and REDIS_MASTER_NAME (nothing started)", flush=True)
    elif "REDIS_URL" in os.environ:
        print("    Redis: using REDIS_URL (nothing started)", flush=True)
    else:
        port = int(env.get("REDIS_PORT", "6390"))
        env["REDIS_URL"] = start_redis(group, port=port, data_dir=var_dir / "redis")
        print(f"    Redis: started on 127.0.0.1:{port}, data in {var_dir / 'redis'}", flush=True)
    if "MONGODB_URI" in os.environ:
        print("    MongoDB: using MONGODB_URI (nothing started)", flush=True)
    else:
        port = int(env.get("MONGODB_PORT", "27018"))
        sqlite_path = var_dir / "mongo" / "tienda.sqlite3"
        log_path = var_dir / "mongo" / "mongoeco.log"
        env["MONGODB_URI"] = start_mongo(group, port=port, sqlite_path=sqlite_path, log_path=log_path)
        print(f"    MongoDB: mongoeco started on 127.0.0.1:{port} (SQLite engine, data in {sqlite_path})", flush=True)


# The most app processes WEB_CONCURRENCY may ask for: each holds its own MongoDB and Redis pools.
MAX_WEB_CONCURRENCY = 64


def web_concurrency(env: dict[str, str]) -> int:
    """App processes behind the one port: ``WEB_CONCURRENCY``, by default one per core this process may use.

    docs/decisions/0013-several-app-processes.md says why one per core.
    """
    raw = env.get("WEB_CONCURRENCY", "").strip()
    if not raw:
        return os.process_cpu_count() or 1
    try:
        processes = int(raw)
    except ValueError:
        processes = 0
    if not 1 <= processes <= MAX_WEB_CONCURRENCY:
        raise StartupError(
            f"WEB_CONCURRENCY must be a whole number of app processes from 1 to {MAX_WEB_CONCURRENCY}, "
            f"not {raw!r}; leave it unset for one per core."
        )
    return processes


def asgi_server_argv(*, port: int, workers: int = 1) -> list[str]:
    """The ASGI server command (chosen in docs/decisions/0002-asgi-server.md).

    ``workers`` app processes share the listening socket (uvicorn's supervisor restarts one that
    dies); always given, as uvicorn would otherwise read ``WEB_CONCURRENCY`` itself.
    No permessage-deflate: pushes are a few hundred bytes, and compressing each copy for each
    socket cost more server time than it saved (docs/benchmarks/push.md).
    """
    return [
        sys.executable, "-m", "uvicorn", "config.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio",
        "--ws-max-size", str(WS_MAX_SIZE_BYTES), "--ws-per-message-deflate", "false",
        "--timeout-graceful-shutdown", "10", "--no-access-log",
    ]  # fmt: skip


# The job queues, most urgent first (common/jobs.py QUEUES; tests/jobs/test_worker.py keeps them equal).
JOB_QUEUES = ("email", "default", "low")
# Stopping, the worker finishes its current job (an e-mail job stops after EMAIL_JOB_TIMEOUT_SECONDS,
# 60 by default) before it is killed; a second Ctrl+C stops it at once.
WORKER_STOP_SECONDS = 70.0


def worker_argv(*queues: str, scheduler: bool = True) -> list[str]:
    """The job queue's worker (config/worker.py), as the Docker ``worker`` service runs it."""
    return [
        sys.executable, "manage.py", "rqworker", *(queues or JOB_QUEUES),
        *(["--with-scheduler"] if scheduler else []),
    ]  # fmt: skip


def _wait_healthy(url: str, group: ProcessGroup, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if exited := group.first_exited():
            raise StartupError(f"{exited.name} exited with code {exited.popen.returncode} during start-up.")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own loopback URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise StartupError(f"{url} did not answer 200 within {timeout:.0f} s.")


def _processes(count: int) -> str:
    return "1 app process" if count == 1 else f"{count} app processes"


def _wait_all_serve(server: ManagedProcess, port: int, group: ProcessGroup, timeout: float = 60.0) -> None:
    """Return once every app process has warmed up and served a request (devstack/app_processes.py)."""

    def failed() -> str | None:
        exited = group.first_exited()
        return f"{exited.name} exited with code {exited.popen.returncode} during start-up." if exited else None

    try:
        wait_until_all_serve(server.pid, port, timeout=timeout, failed=failed)
    except (RuntimeError, TimeoutError) as error:
        raise StartupError(str(error)) from error


def _mail_sink(env: dict[str, str]) -> str:
    if env.get("EMAIL_HOST"):
        return f"sent to the SMTP server {env['EMAIL_HOST']}:{env.get('EMAIL_PORT', '587')}"
    return f"{env['EMAIL_FILE_PATH']}/ (one .log file per batch, newest last)"


def _mode_line(env: dict[str, str]) -> str:
    """What the newcomer is served: production-like by default (config/settings/local.py)."""
    if yes_no(env.get("DJANGO_DEBUG", "")):
        return "mode:   DEBUG on: Django's debug pages, Content-Security-Policy report-only"
    return "mode:   production-like (DEBUG off, strict Content-Security-Policy); DJANGO_DEBUG=1 for debug pages"


def run(args: argparse.Namespace) -> int:
    """Serve the app in the foreground with persistent local data."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    var_dir = Path(env.get("TIENDA_VAR_DIR", ROOT / "var")).resolve()
    port = int(env.get("PORT", "8000"))
    group = ProcessGroup()
    try:
        if port_in_use(port):
            raise StartupError(f"Port {port} is taken; set PORT to a free port (PORT=8001 make run).")
        web_concurrency(env)  # a bad WEB_CONCURRENCY stops start-up before anything is started
        started = _step("Starting MongoDB and Redis")
        start_dependencies(group, env, var_dir=var_dir)
        _done(started)
        _prepare(env)
        processes = web_concurrency(env)
        started = _step(f"Starting the ASGI server on 127.0.0.1:{port} ({_processes(processes)}, WEB_CONCURRENCY)")
        server = group.spawn("asgi-server", asgi_server_argv(port=port, workers=processes), env=env, cwd=ROOT)
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(f"{base_url}/healthz", group)
        _wait_all_serve(server, port, group)
        _done(started)
        started = _step("Starting the job queue's worker (e-mails, payment expiry, stock settling)")
        env.setdefault("EMAIL_FILE_PATH", str(var_dir / "mail"))
        group.spawn("worker", worker_argv(), env=env, cwd=ROOT, stop_timeout=WORKER_STOP_SECONDS)
        _done(started)
        password = env.get("DEMO_PASSWORD", "tienda-demo")
        print(
            f"\nTienda is running at {base_url}/\n"
            f"  shop:   {base_url}/\n"
            f"  admin:  {base_url}/admin/   (admin@example.com / {password})\n"
            f"  API:    {base_url}/api/docs/\n"
            f"  health: {base_url}/healthz\n"
            f"  queues: {base_url}/admin/django_rq/dashboard/   (workers, scheduled, running and failed jobs)\n"
            f"  e-mails the shop sent: {_mail_sink(env)}\n"
            f"  shopper login: shopper@example.com / {password}\n"
            f"  {_mode_line(env)}\n"
            "Press Ctrl+C to stop.",
            flush=True,
        )
        while (exited := group.first_exited()) is None:
            time.sleep(0.5)
        print(f"{exited.name} exited with code {exited.popen.returncode}; stopping.", file=sys.stderr)
        return 1
    except StartupError as error:
        print(f"\nerror: {error}", file=sys.stderr, flush=True)
        return 2
    except Stop as stop:
        print(f"\n{stop}: stopping Tienda...", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        group.stop_all()


def test(args: argparse.Namespace) -> int:
    """Run pytest against servers started for it (devstack/testservers.py)."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    # Bytecode is written even where the shell says not to (PYTHONDONTWRITEBYTECODE; __pycache__ is
    # git-ignored): every pytest process (each xdist worker, the suite's own pytest runs) imports and
    # rewrites every test module and imports the project, about 2.4 s of CPU each when compiled from
    # source and none of it on the next run (docs/decisions/0010-test-suite-speed.md).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    group = ProcessGroup()
    log_dir = Path(tempfile.mkdtemp(prefix="tienda-test-servers-"))
    try:
        env.update(start_test_servers(group, env, log_dir=log_dir, say=lambda line: print(f"    {line}", flush=True)))
        command = [sys.executable, "-m", "pytest", *worker_args(env, args.pytest_args), *args.pytest_args]
        return subprocess.call(command, cwd=ROOT, env=env)  # noqa: S603
    except StartupError as error:
        print(f"\nerror: {error}", file=sys.stderr, flush=True)
        return 2
    except Stop:
        return 130
    finally:
        group.stop_all()
        shutil.rmtree(log_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    die_with_parent()
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    parser = argparse.ArgumentParser(prog="python -m devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve the app with persistent local data")
    commands.add_parser("test", help="run the test suite; later arguments go to pytest")
    argv = sys.argv[1:] if argv is None else argv
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return run(args)
    args.pytest_args = rest
    return test(args)


if __name__ == "__main__":
    sys.exit(main())
