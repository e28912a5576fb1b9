"""Two app processes behind one port (`make run` with WEB_CONCURRENCY=2, tests/e2e/conftest.py):
what one process does holds in the other.

Each test opens connections until it has one on each process (the kernel says which process
accepted which: tests/e2e/processes.py), then acts through one and checks through the other:
pushes, the token blocklist, "log out everywhere" closing a socket, the per-account socket cap,
the login lockout and cache invalidation. Scheduled work running once per interval for the
whole deployment is tests/jobs/test_upkeep.py.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from devstack.app_processes import app_processes, sockets_per_process
from devstack.testing import descendants
from tests.e2e.app import App
from tests.e2e.processes import PinnedClient, holder, one_client_per_process

ADDRESS = {"full_name": "Ana", "line1": "Calle Mayor 1", "city": "Madrid", "postal_code": "28013", "country": "ES"}
SOCKET_CAP = 20  # WS_MAX_SOCKETS_PER_USER's default
LOGIN_FAILURES_PER_ACCOUNT = 5  # config/settings/base.py
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(scope="module")
def pids(app: App) -> set[int]:
    servers = [
        pid for pid in descendants(app.stack.process.pid) if b"uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(servers) == 1, servers
    found = app_processes(servers[0])
    assert len(found) == 2, f"expected the launcher's two app processes, found {sorted(found)}"
    return found


@pytest.fixture
def clients(app: App, pids: set[int]) -> Iterator[tuple[PinnedClient, PinnedClient]]:
    """A client whose connection the first process holds, and one held by the second."""
    first, second = one_client_per_process(app.base_url, pids, app.stack.port)
    yield first, second
    first.close()
    second.close()


def bearer(client: PinnedClient, email: str, password: str) -> dict[str, str]:
    response = client.request("POST", "/api/auth/token/", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access']}"}


def open_socket(app: App, pids: set[int], client: PinnedClient, path: str, auth: dict[str, str]) -> ClientConnection:
    ticket = client.request("POST", "/api/auth/ws-ticket/", headers=auth).json()["ticket"]
    return connect(f"{app.ws_url}{path}?ticket={ticket}", origin=app.base_url, proxy=None, open_timeout=15)


def socket_holder(app: App, pids: set[int], socket: ClientConnection) -> int:
    return holder(pids, server_port=app.stack.port, client_port=socket.socket.getsockname()[1])


def socket_on(app: App, pids: set[int], pid: int, client: PinnedClient, path: str, auth: dict[str, str],
              stack: ExitStack) -> ClientConnection:  # fmt: skip
    """A socket held by process ``pid`` (others opened on the way are closed)."""
    for _ in range(60):
        socket = open_socket(app, pids, client, path, auth)
        if socket_holder(app, pids, socket) == pid:
            return stack.enter_context(socket)
        with socket:  # closed: held by the other process
            pass
    raise AssertionError(f"60 sockets and none on process {pid}")


def close_code(socket: ClientConnection) -> int | None:
    """Read until the server closes ``socket``; the code of its close frame."""
    try:
        while True:
            socket.recv(timeout=10)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def test_the_launcher_serves_one_port_from_web_concurrency_processes(app: App, pids: set[int]) -> None:
    served = one_client_per_process(app.base_url, pids, app.stack.port)
    try:
        assert {client.pid for client in served} == pids
        for client in served:
            assert client.request("GET", "/healthz").status_code == 200
    finally:
        for client in served:
            client.close()
    assert "(2 app processes, WEB_CONCURRENCY)" in app.stack.output


def test_a_status_change_through_one_process_reaches_a_socket_on_the_other(
    app: App, pids: set[int], clients: tuple[PinnedClient, PinnedClient]
) -> None:
    first, second = clients
    staff = bearer(first, app.admin_email, app.password)
    shopper = bearer(first, app.shopper_email, app.password)
    with ExitStack() as stack:
        socket = socket_on(app, pids, first.pid, first, "/ws/staff/orders/", staff, stack)
        socket.send(json.dumps({"type": "resync", "since": 0}))
        assert json.loads(socket.recv(timeout=15))["type"] == "orders.resync"
        product = second.request("GET", "/api/products/", params={"in_stock": 1, "page_size": 1}).json()["results"][0]
        placed = second.request("POST", "/api/orders/", headers=shopper, json={
            "lines": [{"product_id": product["id"], "quantity": 1}], "address": ADDRESS,
        })  # fmt: skip
        assert placed.status_code == 201, placed.text
        order_id = str(placed.json()["id"])
        changed = second.request("POST", f"/api/orders/{order_id}/status/", headers=staff, json={"status": "paid"})
        assert changed.status_code == 200, changed.text
        seqs = []
        while 2 not in seqs:
            message = json.loads(socket.recv(timeout=10))
            if message["type"] == "order.changed" and message["order"]["order_id"] == order_id:
                seqs.append(message["order"]["seq"])
    assert seqs == [1, 2]


def test_a_logout_through_one_process_holds_in_the_other(app: App, clients: tuple[PinnedClient, PinnedClient]) -> None:
    first, second = clients
    tokens = first.request("POST", "/api/auth/token/", json={"email": app.shopper_email, "password": app.password})
    access = {"Authorization": f"Bearer {tokens.json()['access']}"}
    assert first.request("GET", "/api/orders/", headers=access).status_code == 200
    logout = second.request("POST", "/api/auth/logout/", headers=access, json={"refresh": tokens.json()["refresh"]})
    assert logout.status_code in (200, 204), logout.text
    refused = first.request("GET", "/api/orders/", headers=access)
    assert refused.status_code == 401, refused.text


def test_log_out_everywhere_through_one_process_closes_a_socket_on_the_other(
    app: App, pids: set[int], clients: tuple[PinnedClient, PinnedClient]
) -> None:
    first, second = clients
    shopper = bearer(first, app.shopper_email, app.password)
    with ExitStack() as stack:
        socket = socket_on(app, pids, first.pid, first, "/ws/orders/", shopper, stack)
        ended = second.request("POST", "/api/auth/logout-all/", headers=shopper)
        assert ended.status_code in (200, 204), ended.text
        assert close_code(socket) in (4401, 4403)


def test_the_socket_cap_counts_the_sockets_of_both_processes(
    app: App, pids: set[int], clients: tuple[PinnedClient, PinnedClient]
) -> None:
    first, _second = clients
    staff = bearer(first, app.admin_email, app.password)
    holders = []
    with ExitStack() as stack:
        for _ in range(SOCKET_CAP):
            socket = stack.enter_context(open_socket(app, pids, first, "/ws/staff/orders/", staff))
            socket.send(json.dumps({"type": "resync", "since": 0}))
            assert json.loads(socket.recv(timeout=15))["type"] == "orders.resync"
            holders.append(socket_holder(app, pids, socket))
        assert set(holders) == pids, f"all {SOCKET_CAP} sockets went to one process: the test proves nothing"
        held = sockets_per_process(pids, app.stack.port)  # what `make bench` reports, checked here
        assert all(held[pid] >= holders.count(pid) for pid in pids), (held, holders)
        for _ in range(4):  # the next socket is refused, whichever process takes it
            with open_socket(app, pids, first, "/ws/staff/orders/", staff) as extra:
                assert close_code(extra) == 4429
    print(f"\n[processes] {SOCKET_CAP} sockets of one account, held {sorted(holders.count(pid) for pid in pids)} "
          "by the two processes; the next four refused with 4429")  # fmt: skip


def site_login(client: PinnedClient, email: str, password: str) -> httpx.Response:
    page = client.request("GET", "/account/login/")
    token = CSRF.search(page.text)
    assert token, page.text[:500]
    return client.request("POST", "/account/login/", data={
        "csrfmiddlewaretoken": token.group(1), "username": email, "password": password,
    }, headers={"Referer": f"{client.http.base_url}account/login/"})  # fmt: skip


def test_the_login_lockout_counts_failures_made_on_both_processes(clients: tuple[PinnedClient, PinnedClient]) -> None:
    email = f"nobody-{uuid.uuid4().hex[:12]}@example.com"  # its own counter: no real account is locked out
    for attempt in range(LOGIN_FAILURES_PER_ACCOUNT):
        failed = site_login(clients[attempt % 2], email, "wrong password")
        assert failed.status_code == 200, failed.status_code  # the form again, with its error
    for client in clients:
        locked = site_login(client, email, "wrong password")
        assert locked.status_code == 429, locked.status_code
        assert "Retry-After" in locked.headers


def test_a_price_change_through_one_process_empties_the_cache_the_other_serves(
    app: App, clients: tuple[PinnedClient, PinnedClient]
) -> None:
    first, second = clients
    staff = bearer(second, app.admin_email, app.password)
    product = first.request("GET", "/api/products/", params={"page_size": 1, "sort": "name"}).json()["results"][0]
    path = f"/api/products/{product['id']}/"
    before = first.request("GET", path).json()
    assert first.request("GET", path).json() == before  # cached now
    new_price = str(Decimal(before["price"]) + Decimal("1.00"))
    changed = second.request("PATCH", path, headers=staff, json={"price": new_price})
    assert changed.status_code == 200, changed.text
    assert Decimal(first.request("GET", path).json()["price"]) == Decimal(new_price)
    listed = first.request("GET", "/api/products/", params={"page_size": 1, "sort": "name"}).json()["results"][0]
    assert Decimal(listed["price"]) == Decimal(new_price)
