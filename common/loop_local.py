"""One value per running event loop, made on first use and forgotten with its loop.

A server process runs one event loop, so per loop is per process; tests get a new loop each,
and what one loop made (tasks, channel-layer connections) cannot be used from another.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable


class LoopLocal[T]:
    """``get()`` answers the running loop's value, calling ``factory`` the first time."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._values: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get(self) -> T:
        """The running loop's value; RuntimeError when no loop is running."""
        loop = asyncio.get_running_loop()
        if loop not in self._values:
            self._values[loop] = self._factory()
        return self._values[loop]
