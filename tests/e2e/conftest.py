"""The running application for the end-to-end journeys: `make run`'s launcher on free ports.

One server for the whole package (starting it applies migrations and seeds the demo catalog on
mongoeco's SQLite engine, ~20 s), with its own MongoDB and Redis: the journeys talk to it only
over HTTP and WebSockets, like a shopper, an admin or an API client would. It stops after the
package's last test, not at the end of the session: a pytest-xdist worker runs tests/e2e as one
unit and then other modules, which its idle app processes would only slow down.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.testing import TEST_STACK_SETTINGS, running_stack, stack_env
from tests.e2e.app import DEMO_PASSWORD, App


@pytest.fixture(scope="package")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The whole stack, started the way `make run` starts it, with DEBUG off and two app processes.

    Its settings are `make run`'s but for the password hasher (config/settings/test_stack.py).
    """
    root: Path = tmp_path_factory.mktemp("e2e")
    # Two app processes behind the one port, as production runs several (tests/e2e/test_processes.py).
    env = stack_env(
        root / "var",
        DJANGO_DEBUG="0",
        DJANGO_SETTINGS_MODULE=TEST_STACK_SETTINGS,
        DEMO_PASSWORD=DEMO_PASSWORD,
        WEB_CONCURRENCY="2",
    )
    with running_stack(env, root / "server.log") as stack:
        yield App(stack)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``e2e_last`` run after all others: they leave the shared server changed."""
    items.sort(key=lambda item: item.get_closest_marker("e2e_last") is not None)
