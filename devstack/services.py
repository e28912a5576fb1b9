"""Start the embedded MongoDB (mongoeco) and a Debian redis-server for local runs and tests.

Both run in a process group of their own: Ctrl+C in `make run`'s terminal reaches the app and
the job queue's worker, not them, so they keep serving while the worker finishes its current
job, and the launcher stops them last.
"""

from __future__ import annotations

import sys
from pathlib import Path

from devstack.processes import ManagedProcess, ProcessGroup, StartupError, port_in_use, wait_for_port, which

# What Redis must keep, in `make run` as in docker-compose.yml (tests/test_compose.py compares them):
# every write in the append-only file before it is acknowledged (flushed to disk every second), and
# nothing evicted for memory: sessions, carts' copies, the token blocklist and the socket slots live
# there (README, "Redis key schema"; docs/decisions/0008-site-sessions-in-redis.md).
REDIS_PERSISTENCE_ARGS = ("--appendonly", "yes", "--appendfsync", "everysec")
REDIS_MEMORY_ARGS = ("--maxmemory", "0", "--maxmemory-policy", "noeviction")


def start_redis(group: ProcessGroup, *, port: int, data_dir: Path | None, log_path: Path | None = None) -> str:
    """Start redis-server on 127.0.0.1:``port``; persistent (AOF) when ``data_dir`` is given."""
    binary = which("redis-server")
    if binary is None:
        raise StartupError("redis-server is not installed; run `make setup` (it installs Debian's redis-server).")
    if port_in_use(port):
        raise StartupError(f"Port {port} is taken; set REDIS_PORT to a free port or REDIS_URL to your own Redis.")
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--daemonize",
        "no",
        "--save",
        "",
        "--loglevel",
        "warning",
        *REDIS_MEMORY_ARGS,
    ]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_path or data_dir / "redis.log"
        argv += ["--dir", str(data_dir), *REDIS_PERSISTENCE_ARGS]
    else:
        argv += ["--appendonly", "no"]
    process = group.spawn("redis-server", argv, log_path=log_path, own_process_group=True)
    wait_for_port(process, port, timeout=15)
    return f"redis://127.0.0.1:{port}/0"


def start_mongo(group: ProcessGroup, *, port: int, sqlite_path: Path | None, log_path: Path | None = None) -> str:
    """Start mongoeco's wire server: SQLite engine at ``sqlite_path``, or in memory when None."""
    if port_in_use(port):
        raise StartupError(f"Port {port} is taken; set MONGODB_PORT to a free port or MONGODB_URI to your own MongoDB.")
    argv = [sys.executable, "-m", "devstack.mongo_server", "--port", str(port)]
    if sqlite_path is None:
        argv += ["--engine", "memory"]
    else:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        argv += ["--engine", "sqlite", "--path", str(sqlite_path)]
    process: ManagedProcess = group.spawn(
        "mongoeco", argv, log_path=log_path, cwd=Path(__file__).resolve().parent.parent, own_process_group=True
    )
    # The SQLite engine opens (and recovers) its file before listening: allow for it.
    wait_for_port(process, port, timeout=60)
    return f"mongodb://127.0.0.1:{port}/tienda?directConnection=true"
