"""Run mongoeco's MongoDB wire server with the project's compatibility fixes.

Usage: ``python -m devstack.mongo_server --port 27018 --engine sqlite --path var/mongo/tienda.db``.
Prints ``READY <uri>`` on stdout once it accepts connections, and closes the
engine cleanly on SIGTERM or SIGINT so the SQLite file is consistent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pkgutil
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack import mongoeco_compat

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

READY_MARKER = "READY"
# MONGOECO_SQLITE_WORKERS overrides it, to study the race (devstack/tests/test_mongo_server.py).
SQLITE_WORKERS = int(os.environ.get("MONGOECO_SQLITE_WORKERS", "1"))


def build_engine(engine: str, path: str | None):
    from mongoeco.engines import MemoryEngine, SQLiteEngine

    if engine == "memory":
        return MemoryEngine()
    if not path:
        raise SystemExit("--path is required for the sqlite engine")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # One worker thread, so commands run one at a time as on the memory engine. With its default
    # (cores + 4) workers, mongoeco 4.11's SQLite engine races with itself: an update's
    # _invalidate_collection_features_cache iterates a dict that a concurrent read is filling,
    # and the command fails with "dictionary changed size during iteration" (a 500 or a stock
    # ledger entry left for settling in 2 of 46 short load runs). One worker was no slower
    # (docs/reliability.md, "What the load found").
    return SQLiteEngine(path, executor_workers=SQLITE_WORKERS)


def log_internal_errors(server_class: type) -> None:
    """Print the traceback of any command that failed inside mongoeco itself.

    mongoeco answers every exception with an error reply (``ok: 0``), so a bug in the server
    (a RuntimeError, say) reaches the app as an ordinary ``OperationFailure`` and its cause is
    lost. Errors mongoeco raises on purpose (``MongoEcoError``: duplicate keys, bad operators)
    are the client's business and stay quiet.
    """
    from mongoeco.errors import MongoEcoError

    answer_failure = server_class._wire_failure  # private: mongoeco is pinned exactly

    def internal(error: BaseException | None) -> bool:
        # mongoeco sometimes wraps a bug in its own OperationFailure: look down the chain too.
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            if not isinstance(error, MongoEcoError):
                return True
            error = error.__cause__ or error.__context__
        return False

    def _wire_failure(self: Any, error: BaseException, header: Any, state: Any) -> Any:
        if internal(error):
            print(f"mongoeco internal error: {error!r}", file=sys.stderr)
            traceback.print_exception(error, file=sys.stderr)
            sys.stderr.flush()
        return answer_failure(self, error, header, state)

    server_class._wire_failure = _wire_failure


def print_ready(uri: str) -> None:
    print(f"{READY_MARKER} {uri}", flush=True)


async def serve(
    *,
    host: str,
    port: int,
    engine: str,
    path: str | None,
    skip_fixes: tuple[str, ...] = (),
    ready: Callable[[str], None] = print_ready,
) -> None:
    """Serve until SIGTERM or SIGINT; ``ready`` gets the server's URI once it accepts connections."""
    from mongoeco.wire import AsyncMongoEcoProxyServer

    mongoeco_compat.apply(skip=skip_fixes)
    log_internal_errors(AsyncMongoEcoProxyServer)
    server = AsyncMongoEcoProxyServer(engine=build_engine(engine, path), host=host, port=port)
    address = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    ready(f"mongodb://{address.host}:{address.port}/")
    try:
        await stop.wait()
    finally:
        await server.close()


def imported_before_ready() -> list[str]:
    """What ``serve`` imports on its way to READY: about 0.8 s of CPU, nearly all of it in mongoeco's
    own modules. A fork server that has imported them starts each test server in a fraction of that."""
    fixes = [f"{mongoeco_compat.__name__}.{module.name}" for module in pkgutil.iter_modules(mongoeco_compat.__path__)]
    engines = ["mongoeco.engines.memory", "mongoeco.engines.sqlite", "mongoeco.wire.proxy", "mongoeco.wire.executor"]
    return ["devstack.mongo_server", "mongoeco.api._async.client", *engines, *fixes]


def serve_on_loopback(ready: Connection, engine: str, path: str | None, skip_fixes: tuple[str, ...]) -> None:
    """A test server in a child process: on a port the system picks, its URI sent down ``ready``."""
    asyncio.run(serve(host="127.0.0.1", port=0, engine=engine, path=path, skip_fixes=skip_fixes, ready=ready.send))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27018)
    parser.add_argument("--engine", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--path", help="SQLite file for the sqlite engine")
    parser.add_argument(
        "--without-fix",
        action="append",
        default=[],
        choices=mongoeco_compat.FIXES,
        help="leave one compatibility fix out (for the tests that prove each fix is needed)",
    )
    args = parser.parse_args(argv)
    try:
        asyncio.run(
            serve(
                host=args.host,
                port=args.port,
                engine=args.engine,
                path=args.path,
                skip_fixes=tuple(args.without_fix),
            )
        )
    except OSError as error:
        print(f"mongoeco could not listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
