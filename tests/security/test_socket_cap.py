"""One account opening too many WebSockets, against real servers with real `websockets` clients.

The cap (accounts/socket_slots.py, ``WS_MAX_SOCKETS_PER_USER``, 20) holds across server
processes: the killed-process test opens sockets on a second uvicorn, a real subprocess, and
kills it with SIGKILL, so its sockets never say goodbye and must age out of Redis on their own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django_redis import get_redis_connection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from accounts.consumers import ERROR_TOO_MANY_SOCKETS
from accounts.realtime import CLOSE_TOO_MANY_SOCKETS
from accounts.socket_slots import user_slots_key
from devstack.processes import free_port
from tests.security.helpers import Server, open_socket, read_until_closed, resync, session_cookie

ROOT = Path(__file__).resolve().parents[2]
CAP = 20
OTHER_PROCESS_LEASE_SECONDS = 3


def open_live(sockets: ExitStack, server: Server | SimpleNamespace, cookie: str) -> ClientConnection:
    """A socket that the server kept open (it answered a resync), closed with ``sockets``."""
    socket = sockets.enter_context(open_socket(server, "/ws/orders/", cookie=cookie, origin=server.origin))
    assert resync(socket)["type"] == "orders.resync"
    return socket


def open_or_refused(sockets: ExitStack, server: Server, cookie: str) -> ClientConnection | None:
    """A live socket, or None when the server refused it for the cap (any other outcome fails)."""
    socket = sockets.enter_context(open_socket(server, "/ws/orders/", cookie=cookie, origin=server.origin))
    try:
        socket.send(json.dumps({"type": "resync", "since": 0}))
        first = json.loads(socket.recv(timeout=10))
    except ConnectionClosed:
        first = {}
    if first.get("type") == "orders.resync":
        return socket
    assert read_until_closed(socket).code == CLOSE_TOO_MANY_SOCKETS
    return None


def open_slots(user_id: object) -> int:
    return get_redis_connection("default").zcard(user_slots_key(user_id))


def wait_for_slots(user_id: object, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while open_slots(user_id) != count:
        assert time.monotonic() < deadline, f"{open_slots(user_id)} slots held, expected {count}"
        time.sleep(0.05)


def test_the_cap_defaults_to_20() -> None:
    assert settings.WS_MAX_SOCKETS_PER_USER == CAP
    assert settings.WS_SOCKET_LEASE_SECONDS == 60


def test_the_21st_socket_is_refused_with_4429_and_closing_one_frees_a_slot(
    server: Server, people: SimpleNamespace
) -> None:
    ana = session_cookie(people.ana)
    with ExitStack() as sockets:
        opened = [open_live(sockets, server, ana) for _ in range(CAP)]
        assert open_slots(people.ana.pk) == CAP
        ttl = get_redis_connection("default").ttl(user_slots_key(people.ana.pk))
        assert 0 < ttl <= settings.WS_SOCKET_LEASE_SECONDS

        # Any socket path counts against the same cap.
        refused = sockets.enter_context(open_socket(server, "/ws/orders/", cookie=ana, origin=server.origin))
        messages, code, reason = read_until_closed(refused)
        expected = ERROR_TOO_MANY_SOCKETS % CAP
        assert (messages, code, reason) == ([{"type": "error", "message": expected}], CLOSE_TOO_MANY_SOCKETS, expected)
        assert open_slots(people.ana.pk) == CAP  # the refused one took nothing

        # Another account is not affected.
        open_live(sockets, server, session_cookie(people.bob))

        opened[0].close()
        wait_for_slots(people.ana.pk, CAP - 1)
        open_live(sockets, server, ana)
        assert open_slots(people.ana.pk) == CAP
    wait_for_slots(people.ana.pk, 0)


@pytest.fixture
def other_process(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """A second app process (uvicorn, like `make run` starts it) on the same Redis and MongoDB database,
    with a short socket lease; the test kills it."""
    uri = urlsplit(settings.MONGODB_URI)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "MONGODB_URI": urlunsplit(uri._replace(path=f"/{connection.settings_dict['NAME']}")),
        "REDIS_URL": settings.REDIS_URL,
        "WS_SOCKET_LEASE_SECONDS": str(OTHER_PROCESS_LEASE_SECONDS),
    }
    port = free_port()
    log = (tmp_path / "uvicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--ws", "websockets-sansio", "--lifespan", "off", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (tmp_path / "uvicorn.log").read_text()
        try:
            if httpx.get(f"{base_url}/livez", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the second app process did not start within 60 s"
        time.sleep(0.2)
    yield SimpleNamespace(process=process, ws_url=f"ws://127.0.0.1:{port}", origin=base_url)
    if process.poll() is None:
        process.kill()
    process.wait(10)
    log.close()


def test_sockets_of_a_killed_process_stop_counting_after_their_lease(
    server: Server, people: SimpleNamespace, other_process: SimpleNamespace
) -> None:
    ana = session_cookie(people.ana)
    with ExitStack() as sockets:
        for _ in range(CAP):
            open_live(sockets, other_process, ana)
        assert open_slots(people.ana.pk) == CAP
        # The cap holds across processes: this server sees the other one's sockets.
        assert open_or_refused(sockets, server, ana) is None
        time.sleep(OTHER_PROCESS_LEASE_SECONDS)  # the other process renews its leases meanwhile
        assert open_slots(people.ana.pk) == CAP

        os.kill(other_process.process.pid, signal.SIGKILL)
        other_process.process.wait(10)
        killed = time.monotonic()

        # Right after the kill its sockets still count (nobody told Redis they are gone)...
        assert open_or_refused(sockets, server, ana) is None
        # ...and stop counting once their lease has run out.
        while open_or_refused(sockets, server, ana) is None:
            waited = time.monotonic() - killed
            assert waited < OTHER_PROCESS_LEASE_SECONDS + 2, f"still refused {waited:.1f} s after the kill"
            time.sleep(0.2)
        freed_after = time.monotonic() - killed
        assert open_slots(people.ana.pk) == 1  # the dead process's twenty are gone, this one counts
    print(f"\n[socket cap] a killed process's sockets stopped counting {freed_after:.1f} s after SIGKILL "
          f"(lease {OTHER_PROCESS_LEASE_SECONDS} s)")  # fmt: skip
