"""Run mongoeco's MongoDB wire server with the project's compatibility fixes.

Usage: ``python -m devstack.mongo_server --port 27018 --engine sqlite --path var/mongo/tienda.db``.
Prints ``READY <uri>`` on stdout once it accepts connections, and closes the
engine cleanly on SIGTERM or SIGINT so the SQLite file is consistent.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from devstack import mongoeco_compat

READY_MARKER = "READY"


def build_engine(engine: str, path: str | None):
    from mongoeco.engines import MemoryEngine, SQLiteEngine

    if engine == "memory":
        return MemoryEngine()
    if not path:
        raise SystemExit("--path is required for the sqlite engine")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SQLiteEngine(path)


async def serve(*, host: str, port: int, engine: str, path: str | None, skip_fixes: tuple[str, ...] = ()) -> None:
    """Serve until SIGTERM or SIGINT."""
    from mongoeco.wire import AsyncMongoEcoProxyServer

    mongoeco_compat.apply(skip=skip_fixes)
    server = AsyncMongoEcoProxyServer(engine=build_engine(engine, path), host=host, port=port)
    address = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"{READY_MARKER} mongodb://{address.host}:{address.port}/", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


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
