"""Many threads doing one thing at once, for the tests of races (stock, cache rebuilds, expiry)."""

from __future__ import annotations

import threading
from collections.abc import Callable


def all_at_once[T](count: int, call: Callable[[], T], *, timeout: float = 60) -> list[T]:
    """Run ``call`` in ``count`` threads released together (a stampede); the answers that came back."""
    barrier = threading.Barrier(count)
    answers: list[T] = []

    def run() -> None:
        barrier.wait()
        answers.append(call())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return answers
