"""Plain `pytest` gets servers of its own: a throwaway Redis and an in-memory mongoeco.

pyproject.toml loads this plugin (``-p devstack.pytest_plugin`` in addopts) before pytest-django,
which reads the settings in its own ``pytest_load_initial_conftests``; this one runs first
(tryfirst), so Django sees the tests' servers in REDIS_URL and MONGODB_URI. Under
`python -m devstack test`, or with TEST_REDIS_URL / TEST_MONGODB_URI set, the servers are
already named and nothing starts (devstack/testservers.py).

With pytest-xdist (``-n 2``) each worker starts servers of its own, as a test may change its
Redis server's settings or stop it; only servers given in TEST_* are shared. Work goes to the
workers a module at a time (module fixtures start servers and browsers), the tests that share one
running stack (tests/e2e, tests/faults) as one unit, the tests of a few long modules whose tests
start everything they use one by one, and the slow tests first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from devstack.processes import ProcessGroup
from devstack.testservers import given_servers, servers_named, start_test_servers

STARTED = pytest.StashKey[list[str]]()
XDIST_WORKER = "PYTEST_XDIST_WORKER"
# Tests under these directories share one running stack (a session or package fixture).
SHARED_STACK_DIRECTORIES = ("tests/e2e/", "tests/faults/")
# Modules without module fixtures whose tests each start their own stack or worker processes (tens of
# seconds a module): each test is a unit, so that they spread over the workers instead of making one
# worker's tail.
PER_TEST_MODULES = ("devstack/tests/test_run.py", "tests/jobs/test_order_mails.py")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    options = early_config.known_args_namespace
    if options.help or options.version or (servers_named(os.environ) and XDIST_WORKER not in os.environ):
        return
    if XDIST_WORKER in os.environ and given_servers(os.environ):
        given = " and ".join(given_servers(os.environ))
        raise pytest.UsageError(f"{given} name servers every xdist worker would share: run without -n (or -n 0)")
    log_dir = Path(tempfile.mkdtemp(prefix="tienda-test-servers-"))
    early_config.add_cleanup(lambda: shutil.rmtree(log_dir, ignore_errors=True))
    group = ProcessGroup()
    early_config.add_cleanup(group.stop_all)  # cleanups run last added first: servers, then logs
    lines = early_config.stash.setdefault(STARTED, [])
    os.environ.update(start_test_servers(group, os.environ, log_dir=log_dir, say=lines.append))


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"test servers: {line}" for line in config.stash.get(STARTED, [])]


def work_unit(nodeid: str) -> str:
    """What one xdist worker runs as a whole: a test module, a directory sharing one running stack, or
    one test of PER_TEST_MODULES."""
    shared = [directory for directory in SHARED_STACK_DIRECTORIES if nodeid.startswith(directory)]
    if shared:
        return shared[0]
    module = nodeid.split("::", 1)[0]
    return nodeid if module in PER_TEST_MODULES else module


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On xdist workers, the work units with slow tests first (a stable sort: the order within a unit holds)."""
    if XDIST_WORKER in os.environ:
        slow = {work_unit(item.nodeid) for item in items if item.get_closest_marker("slow")}
        items.sort(key=lambda item: work_unit(item.nodeid) not in slow)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # the collection's order: slow units first
    return WorkUnits(config, log)
