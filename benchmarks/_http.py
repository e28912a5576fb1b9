"""A small keep-alive HTTP/1.1 load client on asyncio (no dependencies), for loopback only."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @classmethod
    def merged(cls, name: str, results: list[Result]) -> Result:
        """One result of several runs: their requests over their summed seconds, every latency."""
        merged = cls(name, 0, 0.0, [], {})
        for result in results:
            merged.requests += result.requests
            merged.seconds += result.seconds
            merged.latencies_ms += result.latencies_ms
            for status, seen in result.statuses.items():
                merged.statuses[status] = merged.statuses.get(status, 0) + seen
        return merged


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split()[1])
    length = 0
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def run_load(
    name: str,
    base_url: str,
    path_for: Callable[[int], str],
    *,
    requests: int,
    concurrency: int,
    max_seconds: float,
    headers: dict[str, str] | None = None,
    stop: asyncio.Event | None = None,
) -> Result:
    """Send ``requests`` GETs (path_for(i)) over ``concurrency`` keep-alive connections, within ``max_seconds``
    and until ``stop`` is set."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("benchmarks only target loopback addresses")
    extra = "".join(f"{key}: {value}\r\n" for key, value in (headers or {}).items())
    counter = iter(range(requests))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + max_seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in counter:
                if time.monotonic() > deadline or (stop is not None and stop.is_set()):
                    return
                request = f"GET {path_for(i)} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()
                started = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, len(latencies), time.perf_counter() - started, latencies, statuses)
