"""free_port: ports outside the system's ephemeral range, a block per xdist worker, each handed out once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from devstack.processes import PORT_BLOCK_SIZE, PORT_BLOCKS_FROM, free_port

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
    ports = ports_of("gw0") + ports_of(None)
    assert not set(ports) & set(ephemeral_range())
    assert all(port >= PORT_BLOCKS_FROM for port in ports)


def test_each_worker_has_a_block_of_its_own() -> None:
    blocks = {worker: ports_of(worker) for worker in ("gw0", "gw1", "gw2")}
    for worker, ports in blocks.items():
        assert len({port // PORT_BLOCK_SIZE for port in ports}) <= 2  # one block (a wrap stays inside it)
        others = {port for name, theirs in blocks.items() if name != worker for port in theirs}
        assert not set(ports) & others, worker


def test_a_process_hands_out_each_port_once_and_skips_taken_ones() -> None:
    first = free_port()
    block_start = first - (first - PORT_BLOCKS_FROM) % PORT_BLOCK_SIZE
    following = block_start + (first - block_start + 1) % PORT_BLOCK_SIZE
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", following))
        taken.listen()
        ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert first not in ports
    assert following not in ports
    assert following + 1 in ports or following + 1 == block_start + PORT_BLOCK_SIZE
