"""free_port: ports outside the system's ephemeral range, a block per xdist worker, each handed out once;
wait_for_port: the process started listens there, not another program."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.processes import (
    PORT_BLOCK_SIZE,
    PORT_BLOCKS_FROM,
    ProcessGroup,
    StartupError,
    free_port,
    listens,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[2]


def ports_of(worker: str | None, count: int = 20) -> list[int]:
    """``count`` ports from free_port in a new process that is xdist worker ``worker`` (None: not one)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_XDIST_WORKER"}
    if worker is not None:
        env["PYTEST_XDIST_WORKER"] = worker
    code = f"from devstack.processes import free_port; print([free_port() for _ in range({count})])"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def ephemeral_range() -> range:
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


def test_ports_are_outside_the_range_the_system_picks_from() -> None:
    ports = ports_of("gw7") + ports_of(None)
    assert not set(ports) & set(ephemeral_range())
    assert all(port >= PORT_BLOCKS_FROM for port in ports)


def test_each_worker_has_a_block_of_its_own() -> None:
    # Blocks the suite's own three workers (gw0-gw2) do not use: these processes bind each port they try.
    blocks = {worker: ports_of(worker) for worker in ("gw5", "gw6", "gw7")}
    for worker, ports in blocks.items():
        assert len({(port - PORT_BLOCKS_FROM) // PORT_BLOCK_SIZE for port in ports}) == 1, worker  # wraps inside it
        others = {port for name, theirs in blocks.items() if name != worker for port in theirs}
        assert not set(ports) & others, worker


def next_in_block(port: int) -> int:
    """The port free_port tries after ``port``: the next one, or its block's first after its last."""
    block_start = port - (port - PORT_BLOCKS_FROM) % PORT_BLOCK_SIZE
    return block_start + (port - block_start + 1) % PORT_BLOCK_SIZE


def test_a_process_hands_out_each_port_once_and_skips_taken_ones() -> None:
    first = free_port()
    following = next_in_block(first)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", following))
        taken.listen()
        ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert first not in ports
    assert following not in ports
    assert ports[0] == next_in_block(following)


def test_listens_tells_the_process_holding_the_port_from_others() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", free_port()))
        held.listen()
        port = held.getsockname()[1]
        assert listens(os.getpid(), port) is True
        group = ProcessGroup()
        other = group.spawn("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert listens(other.pid, port) is False
        finally:
            group.stop_all()
    assert listens(os.getpid(), port) is False  # closed


def test_a_port_another_program_took_is_a_startup_error_not_a_started_server() -> None:
    group = ProcessGroup()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        port = taken.getsockname()[1]
        server = group.spawn("server", [sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            with pytest.raises(StartupError, match=f"Port {port} answers, but not from server"):
                wait_for_port(server, port, timeout=5)
        finally:
            group.stop_all()


def test_the_server_started_is_waited_for_until_it_listens() -> None:
    port = free_port()
    code = (
        "import socket, time; time.sleep(0.3); s = socket.socket(); "
        f"s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(30)"
    )
    group = ProcessGroup()
    server = group.spawn("server", [sys.executable, "-c", code])
    try:
        wait_for_port(server, port, timeout=10)
        assert listens(server.pid, port) is True
    finally:
        group.stop_all()
