"""Hostile WebSocket clients against a real uvicorn: foreign origins, oversized frames, floods.

A real `websockets` client, the way a browser or a script would connect (close codes: docs/api.md).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from accounts import services as account_services
from accounts.consumers import ERROR_TOO_MANY_MESSAGES, MESSAGE_BURST, TokenBucket
from accounts.realtime import CLOSE_TOO_MANY_MESSAGES
from devstack import WS_MAX_SIZE_BYTES
from devstack.__main__ import asgi_server_argv
from orders.consumers import ERROR_BAD_MESSAGE, MAX_MESSAGE_BYTES
from tests.security.helpers import Server, open_socket, read_until_closed, resync, session_cookie

CLOSE_MESSAGE_TOO_BIG = 1009  # RFC 6455
ROOT = Path(__file__).resolve().parents[2]


# --- Origins -----------------------------------------------------------------------------------


def test_a_same_origin_page_with_a_session_cookie_connects(server: Server, people: SimpleNamespace) -> None:
    with open_socket(server, "/ws/orders/", cookie=session_cookie(people.ana), origin=server.origin) as socket:
        assert resync(socket) == {"type": "orders.resync", "orders": []}


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://127.0.0.1.evil.example",  # a look-alike host
        "http://evil.example:{port}",
        "null",  # sandboxed iframes, file:// pages
    ],
)
def test_a_foreign_origin_is_refused_even_with_a_valid_session_cookie(
    server: Server, people: SimpleNamespace, origin: str
) -> None:
    # Cross-site WebSocket hijacking: a page on evil.example opens a socket with the shopper's cookie.
    with pytest.raises(InvalidStatus) as refused:
        open_socket(
            server, "/ws/orders/", cookie=session_cookie(people.ana), origin=origin.format(port=server.port)
        ).close()
    assert refused.value.response.status_code == 403


def test_a_socket_without_origin_is_refused(server: Server, people: SimpleNamespace) -> None:
    ticket = account_services.ws_ticket_issue(user=people.ana)["ticket"]
    with pytest.raises(InvalidStatus) as refused:
        open_socket(server, f"/ws/orders/?ticket={ticket}").close()
    assert refused.value.response.status_code == 403


# --- Frame size --------------------------------------------------------------------------------


def test_a_frame_over_the_servers_limit_closes_the_socket_with_1009(server: Server, people: SimpleNamespace) -> None:
    with open_socket(server, "/ws/orders/", cookie=session_cookie(people.ana), origin=server.origin) as socket:
        socket.send("x" * (WS_MAX_SIZE_BYTES + 1))
        closing = read_until_closed(socket)
    assert (closing.messages, closing.code) == ([], CLOSE_MESSAGE_TOO_BIG)


def test_make_run_and_the_docker_image_use_the_same_frame_limit() -> None:
    argv = asgi_server_argv(port=8000)
    assert argv[argv.index("--ws-max-size") + 1] == str(WS_MAX_SIZE_BYTES)
    dockerfile = re.findall(r"--ws-max-size (\d+)", (ROOT / "Dockerfile").read_text())
    assert dockerfile == [str(WS_MAX_SIZE_BYTES)]


def test_a_big_message_under_the_frame_limit_gets_an_error_and_the_socket_stays(
    server: Server, people: SimpleNamespace
) -> None:
    with open_socket(server, "/ws/orders/", cookie=session_cookie(people.ana), origin=server.origin) as socket:
        socket.send(json.dumps({"type": "resync", "since": 0, "pad": "x" * MAX_MESSAGE_BYTES}))
        assert json.loads(socket.recv(timeout=10)) == {"type": "error", "message": ERROR_BAD_MESSAGE}
        socket.send(b"\x00" * 100)  # binary frames are not part of the protocol either
        assert json.loads(socket.recv(timeout=10)) == {"type": "error", "message": ERROR_BAD_MESSAGE}
        socket.send("[" * 2000 + "]" * 2000)  # as deep as 4 KB of JSON can nest
        assert json.loads(socket.recv(timeout=10)) == {"type": "error", "message": ERROR_BAD_MESSAGE}
        assert resync(socket)["type"] == "orders.resync"


# --- Floods ------------------------------------------------------------------------------------


def test_a_message_flood_gets_an_error_then_close_4429(server: Server, people: SimpleNamespace) -> None:
    resync_message = json.dumps({"type": "resync", "since": 0})
    with open_socket(server, "/ws/orders/", cookie=session_cookie(people.ana), origin=server.origin) as socket:
        for _ in range(200):
            try:
                socket.send(resync_message)
            except ConnectionClosed:
                break  # the server already closed; what it answered before is still readable
        answers, code, _reason = read_until_closed(socket)
    assert code == CLOSE_TOO_MANY_MESSAGES
    assert answers[-1] == {"type": "error", "message": ERROR_TOO_MANY_MESSAGES}
    served = [answer for answer in answers if answer["type"] == "orders.resync"]
    # The burst, plus what refilled while the server answered it (5 a second).
    assert MESSAGE_BURST <= len(served) < MESSAGE_BURST + 10


def test_a_page_sending_at_a_normal_pace_is_never_cut_off(server: Server, people: SimpleNamespace) -> None:
    with open_socket(server, "/ws/orders/", cookie=session_cookie(people.ana), origin=server.origin) as socket:
        for _ in range(MESSAGE_BURST):  # a burst of reconnect resyncs...
            assert resync(socket)["type"] == "orders.resync"
        time.sleep(1.0)  # ...then time to refill a few tokens (5 a second)
        for _ in range(4):
            assert resync(socket)["type"] == "orders.resync"


def test_the_token_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=5, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.2  # one token back
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] += 60  # a long pause refills to the burst, not beyond
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
