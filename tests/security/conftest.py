"""A real uvicorn serving the project's ASGI app for the security tests.

The server runs in a thread of the test process, configured like `make run` starts it (uvloop,
httptools, websockets-sansio, devstack.WS_MAX_SIZE_BYTES), so it shares the test database and
Redis: tests create users and orders directly and attack them over real HTTP and WebSockets
(tests/security/helpers.py has the cookies, tokens and sockets they use; ``people``, ``goods``
and ``catalog`` come from orders/tests/fixtures.py and shop/tests/fixtures.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from devstack import WS_MAX_SIZE_BYTES
from devstack.processes import free_port
from tests.security.helpers import Server


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
