"""uvicorn's app processes behind one port, and which of them holds a connection, read from /proc.

With ``--workers N`` uvicorn's supervisor spawns N app processes that share one listening
socket; each accepts connections only once its start-up (the warm-up) is done, and the kernel
hands each new connection to one of them. The launcher waits until every one has accepted a
connection before it says the app is running; the tests and `make bench` use the same reading to
put a socket or a request on a given process and to count the sockets each one holds.
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from devstack.processes import TCP_ESTABLISHED, socket_inodes, tcp_sockets

LIVEZ = b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = task / "children"
        if children.exists():
            found.update(map(int, children.read_text().split()))
    return found


def app_processes(server_pid: int) -> set[int]:
    """The app processes of the uvicorn started as ``server_pid`` (itself when it runs one process)."""
    spawned = {pid for pid in _children(server_pid) if b"spawn_main" in _cmdline(pid)}
    return spawned or {server_pid}


def _server_ends(server_port: int) -> dict[str, int]:
    """Inode of the server's end of each established loopback connection to ``server_port`` -> client port."""
    return tcp_sockets(server_port, TCP_ESTABLISHED, ipv6=False)


def connection_holder(pids: set[int], *, server_port: int, client_port: int, timeout: float = 5.0) -> int:
    """The process among ``pids`` that accepted the connection from 127.0.0.1:``client_port``."""
    deadline = time.monotonic() + timeout
    while True:
        wanted = {inode for inode, port in _server_ends(server_port).items() if port == client_port}
        for pid in pids:
            if wanted & socket_inodes(pid):
                return pid
        if time.monotonic() > deadline:
            raise LookupError(f"no process among {sorted(pids)} holds the connection from port {client_port}")
        time.sleep(0.05)


def sockets_per_process(pids: set[int], server_port: int) -> dict[int, int]:
    """How many established connections to ``server_port`` each of ``pids`` holds."""
    ends = _server_ends(server_port)
    return {pid: len(socket_inodes(pid) & ends.keys()) for pid in sorted(pids)}


def wait_until_all_serve(
    server_pid: int, port: int, *, timeout: float, failed: Callable[[], str | None] = lambda: None
) -> set[int]:
    """Open connections to ``port`` until every app process of ``server_pid`` has accepted one.

    ``failed`` names a reason to stop waiting (a process of the stack that exited), or None.
    Raises TimeoutError naming the processes still silent after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    served: Counter[int] = Counter()
    while True:
        pids = app_processes(server_pid)
        if pids <= served.keys():
            return pids
        if reason := failed():
            raise RuntimeError(reason)
        if time.monotonic() > deadline:
            raise TimeoutError(f"app processes {sorted(pids - served.keys())} did not serve within {timeout:.0f} s")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                connection.sendall(LIVEZ)
                connection.recv(64)  # the status line: the connection was accepted and served
                holder = connection_holder(pids, server_port=port, client_port=connection.getsockname()[1], timeout=1)
            served[holder] += 1
        except (OSError, LookupError):
            pass
        time.sleep(0.02)
