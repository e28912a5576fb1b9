"""A real uvicorn serving the project's ASGI app, plus signed-in people to send at it.

The server runs in a thread of the test process, configured like `make run` starts it (uvloop,
httptools, websockets-sansio, devstack.WS_MAX_SIZE_BYTES), so it shares the test database and
Redis: tests create users and orders directly and attack them over real HTTP and WebSockets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from django.conf import settings
from django.test import Client

from accounts import services as account_services
from accounts.models import User
from devstack import WS_MAX_SIZE_BYTES
from devstack.processes import free_port
from devstack.testing import LoopbackUrls
from orders.tests.conftest import goods, people  # noqa: F401 - shared fixtures: two shoppers, staff, products
from shop.tests.conftest import catalog  # noqa: F401 - shared fixture: four products in two categories


@dataclass(frozen=True)
class Server(LoopbackUrls):
    port: int

    @property
    def origin(self) -> str:
        """What a browser on one of the server's own pages sends as Origin."""
        return self.base_url


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """uvicorn on a free port for the module's tests."""
    from config.asgi import application

    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, loop="uvloop", http="httptools", ws="websockets-sansio",
        ws_max_size=WS_MAX_SIZE_BYTES, lifespan="off", log_level="warning", access_log=False,
    )  # fmt: skip
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.05)
    yield Server(port)
    instance.should_exit = True
    thread.join(15)


def session_cookie(user: User) -> str:
    """A site session for ``user``, as the browser's ``sessionid`` cookie value."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def bearer(user: User) -> dict[str, str]:
    """An Authorization header with a fresh access token for ``user``."""
    return {"Authorization": f"Bearer {account_services.token_pair_issue(user=user)['access']}"}
