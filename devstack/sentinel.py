"""A Redis primary, two replicas and three sentinels on loopback ports (Debian's redis-server and
redis-sentinel), for the failover test and `make failover` (benchmarks/redis_failover.py).

The sentinels agree that the primary is down after ``DOWN_AFTER_MS`` without an answer (a quorum
of two out of three) and promote a replica; the app finds the new primary by asking them
(config/redis_settings.py). Nothing here is used by `make run`, which runs one Redis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from devstack.processes import ManagedProcess, ProcessGroup, StartupError, free_port, wait_for_port, which
from devstack.services import REDIS_MEMORY_ARGS

MASTER_NAME = "tienda"
QUORUM = 2
# How long the sentinels wait for an answer before they call the primary down, and how long a
# failover may take before another is tried. Short, so the measured gap is mostly the failover's
# own, but not 1 s: on a loaded 2-core machine a sentinel then missed the just-promoted primary's
# replies for a second, called it down too, and a second failover threw away what it had taken
# (docs/deploy.md, "The failover drill").
DOWN_AFTER_MS = 3000
FAILOVER_TIMEOUT_MS = 10000


@dataclass
class SentinelSet:
    """The processes and ports of one primary, its replicas and the sentinels watching them."""

    group: ProcessGroup
    data_dir: Path
    servers: dict[int, ManagedProcess] = field(default_factory=dict)  # port -> redis-server
    sentinels: dict[int, ManagedProcess] = field(default_factory=dict)  # port -> redis-sentinel

    @property
    def sentinel_list(self) -> str:
        """The value of REDIS_SENTINELS for these sentinels."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinels)

    def primary_port(self) -> int:
        """The port of the server the sentinels name as primary now."""
        for port in self.sentinels:
            try:
                client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
                _host, primary = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                return int(primary)
            except (redis.RedisError, TypeError):
                continue
        raise StartupError(f"no sentinel answered on ports {list(self.sentinels)}")

    def primary(self) -> ManagedProcess:
        return self.servers[self.primary_port()]

    def wait_for_replicas(self, count: int, timeout: float = 30.0) -> None:
        """Return once the primary has ``count`` replicas in sync and every sentinel knows them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                info = redis.Redis(port=self.primary_port(), socket_timeout=1).info("replication")
                online = sum(1 for key, value in info.items() if key.startswith("slave") and value["state"] == "online")
                known = all(
                    len(redis.Redis(port=port, socket_timeout=1).sentinel_slaves(MASTER_NAME)) >= count
                    and redis.Redis(port=port, socket_timeout=1).sentinel_master(MASTER_NAME)["num-other-sentinels"]
                    >= len(self.sentinels) - 1
                    for port in self.sentinels
                )
                if online >= count and known:
                    return
            except redis.RedisError:
                pass
            time.sleep(0.2)
        raise StartupError(f"the primary did not have {count} replicas known to every sentinel within {timeout:.0f} s")


def _server(group: ProcessGroup, *, port: int, data_dir: Path, replica_of: int | None) -> ManagedProcess:
    binary = which("redis-server")
    if binary is None:
        raise StartupError("redis-server is not installed; run `make setup`.")
    argv = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "no", "--save", "",
        "--appendonly", "no", "--loglevel", "warning", "--dir", str(data_dir), *REDIS_MEMORY_ARGS,
    ]  # fmt: skip
    if replica_of is not None:
        argv += ["--replicaof", "127.0.0.1", str(replica_of)]
    process = group.spawn(f"redis-{port}", argv, log_path=data_dir / f"redis-{port}.log", own_process_group=True)
    wait_for_port(process, port, timeout=15)
    return process


def _sentinel(group: ProcessGroup, *, port: int, primary: int, data_dir: Path) -> ManagedProcess:
    binary = which("redis-sentinel")
    if binary is None:
        raise StartupError("redis-sentinel is not installed; run `make setup` (it installs Debian's redis-sentinel).")
    config = data_dir / f"sentinel-{port}.conf"  # the sentinel rewrites it as it learns the topology
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {data_dir}\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary} {QUORUM}\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
        f"sentinel parallel-syncs {MASTER_NAME} 2\n"
    )
    process = group.spawn(
        f"sentinel-{port}", [binary, str(config)], log_path=data_dir / f"sentinel-{port}.log", own_process_group=True
    )
    wait_for_port(process, port, timeout=15)
    return process


def start_sentinel_set(group: ProcessGroup, data_dir: Path, *, replicas: int = 2, sentinels: int = 3) -> SentinelSet:
    """Start a primary, ``replicas`` replicas and ``sentinels`` sentinels; return once all are in touch."""
    data_dir.mkdir(parents=True, exist_ok=True)
    found = SentinelSet(group, data_dir)
    primary = free_port()
    found.servers[primary] = _server(group, port=primary, data_dir=data_dir, replica_of=None)
    for _ in range(replicas):
        port = free_port()
        found.servers[port] = _server(group, port=port, data_dir=data_dir, replica_of=primary)
    for _ in range(sentinels):
        port = free_port()
        found.sentinels[port] = _sentinel(group, port=port, primary=primary, data_dir=data_dir)
    found.wait_for_replicas(replicas)
    return found
