"""Redis and MongoDB for the test suite: servers started for the tests and for nothing else.

The suite empties Redis and drops MongoDB collections, so it never runs against a server it did
not start (`make run`'s, say). `python -m devstack test` and plain `pytest` (through
devstack/pytest_plugin.py) both get their servers from `start_test_servers`:

- TEST_REDIS_URL / TEST_MONGODB_URI, when set, name servers provided for the tests (CI's
  containers); they are used as they are;
- otherwise a throwaway redis-server and an in-memory mongoeco start on free ports, and stop
  with the run.

`make test` runs the suite on WORKERS pytest-xdist workers (``worker_args``), each with servers of
its own (devstack/pytest_plugin.py); servers given in TEST_* would be shared by the workers, so
with those the suite runs in one process.

The servers reach Django as REDIS_URL and MONGODB_URI; REDIS_URL and MONGODB_URI already in the
environment (a shell set up for `make run`) are replaced. Each server started here is named
by its process id in TIENDA_TEST_REDIS_PID / TIENDA_TEST_MONGODB_PID: config/settings/test.py
refuses any server that is neither the one named TEST_* nor reports that process id.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from devstack.processes import ProcessGroup, free_port
from devstack.services import start_mongo, start_redis


class Variables(NamedTuple):
    """The environment variables about one of the tests' servers."""

    url: str  # what Django reads
    given: str  # a server provided for the tests
    started_pid: str  # the process id of the server started here


# config/settings/test.py reads these names too (config does not import devstack): keep them in step.
REDIS = Variables("REDIS_URL", "TEST_REDIS_URL", "TIENDA_TEST_REDIS_PID")
MONGODB = Variables("MONGODB_URI", "TEST_MONGODB_URI", "TIENDA_TEST_MONGODB_PID")


def servers_named(env: Mapping[str, str]) -> bool:
    """Whether ``env`` already names both test servers (`devstack test` runs pytest that way)."""
    return all(names.given in env or {names.url, names.started_pid} <= env.keys() for names in (REDIS, MONGODB))


def workers_for(cores: int) -> int:
    """How many workers `make test` runs on ``cores`` CPUs: one more than the cores, as a worker spends
    much of its time waiting for the stacks and worker processes its tests start, between two and six
    (each worker starts a Redis and a mongoeco of its own; beyond six, the longest units set the wall
    time anyway). docs/decisions/0010-test-suite-speed.md has the figures for 2, 3 and 4 on two cores."""
    return min(max(cores + 1, 2), 6)


WORKERS = workers_for(os.process_cpu_count() or 1)


def given_servers(env: Mapping[str, str]) -> list[str]:
    """The TEST_* variables set in ``env``: servers provided for the tests, one for every process."""
    return [names.given for names in (REDIS, MONGODB) if names.given in env]


def worker_args(env: Mapping[str, str], pytest_args: list[str]) -> list[str]:
    """The pytest-xdist arguments `make test` adds: WORKERS workers, unless servers are given in TEST_*
    or the arguments choose (``-n 0`` runs in one process)."""
    chosen = any(arg.startswith(("-n", "--numprocesses", "--dist")) or arg == "no:xdist" for arg in pytest_args)
    return [] if chosen or given_servers(env) else ["-n", str(WORKERS)]


def start_test_servers(
    group: ProcessGroup, env: Mapping[str, str], *, log_dir: Path, say: Callable[[str], object]
) -> dict[str, str]:
    """The variables that point Django at the tests' servers; those not given in ``env`` are started
    in ``group`` (stopped with it), logging in ``log_dir``. ``say`` gets a line a server."""
    starters: list[tuple[str, Variables, Callable[[int], str]]] = [
        ("Redis", REDIS, lambda port: start_redis(group, port=port, data_dir=None, log_path=log_dir / "redis.log")),
        (
            "MongoDB (mongoeco, memory engine)",
            MONGODB,
            lambda port: start_mongo(group, port=port, sqlite_path=None, log_path=log_dir / "mongoeco.log"),
        ),
    ]
    named: dict[str, str] = {}
    for server, names, start in starters:
        if names.given in env:
            named[names.url] = env[names.given]
            say(f"{server}: {names.given} (nothing started)")
        else:
            port = free_port()
            named[names.url] = start(port)
            named[names.started_pid] = str(group.processes[-1].pid)
            say(f"{server}: started on 127.0.0.1:{port}")
    return named
