"""The running application for the end-to-end journeys: `make run`'s launcher on free ports.

One server for the whole session (starting it applies migrations and seeds the demo catalog on
mongoeco's SQLite engine, ~20 s), with its own MongoDB and Redis: the journeys talk to it only
over HTTP and WebSockets, like a shopper, an admin or an API client would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.testing import RunningStack, running_stack, stack_env

DEMO_PASSWORD = "e2e-demo-password-1"  # a throwaway server's demo accounts
ADMIN_EMAIL = "admin@example.com"
SHOPPER_EMAIL = "shopper@example.com"


@dataclass(frozen=True)
class App:
    stack: RunningStack
    admin_email: str = ADMIN_EMAIL
    shopper_email: str = SHOPPER_EMAIL
    password: str = DEMO_PASSWORD

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    @property
    def ws_url(self) -> str:
        return self.stack.ws_url


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The whole stack, started the way `make run` starts it, with DEBUG off."""
    root: Path = tmp_path_factory.mktemp("e2e")
    env = stack_env(root / "var", DJANGO_DEBUG="0", DEMO_PASSWORD=DEMO_PASSWORD)
    with running_stack(env, root / "server.log") as stack:
        yield App(stack)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``e2e_last`` run after all others: they leave the shared server changed."""
    items.sort(key=lambda item: item.get_closest_marker("e2e_last") is not None)
