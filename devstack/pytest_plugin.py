"""Plain `pytest` gets servers of its own: a throwaway Redis and an in-memory mongoeco.

pyproject.toml loads this plugin (``-p devstack.pytest_plugin`` in addopts) before pytest-django,
which reads the settings in its own ``pytest_load_initial_conftests``; this one runs first
(tryfirst), so Django sees the tests' servers in REDIS_URL and MONGODB_URI. Under
`python -m devstack test`, or with TEST_REDIS_URL / TEST_MONGODB_URI set, the servers are
already named and nothing starts (devstack/testservers.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from devstack.processes import ProcessGroup
from devstack.testservers import servers_named, start_test_servers

STARTED = pytest.StashKey[list[str]]()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    options = early_config.known_args_namespace
    if options.help or options.version or servers_named(os.environ):
        return
    log_dir = Path(tempfile.mkdtemp(prefix="tienda-test-servers-"))
    early_config.add_cleanup(lambda: shutil.rmtree(log_dir, ignore_errors=True))
    group = ProcessGroup()
    early_config.add_cleanup(group.stop_all)  # cleanups run last added first: servers, then logs
    lines = early_config.stash.setdefault(STARTED, [])
    os.environ.update(start_test_servers(group, os.environ, log_dir=log_dir, say=lines.append))


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"test servers: {line}" for line in config.stash.get(STARTED, [])]
