"""Counting MongoDB round trips, as ``assertNumQueries`` counts SQL queries.

A pymongo command listener records every command a client sends while a ``mongo_commands()``
block is open. The test settings install it on the database connection (config/settings/test.py,
``event_listeners``), so a test can fail when a page starts reading MongoDB again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from pymongo import monitoring


class CommandRecorder(monitoring.CommandListener):
    """Appends ``"<command> <collection>"`` for each command started, to every open recording."""

    def __init__(self) -> None:
        self._recordings: list[list[str]] = []
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not self._recordings:
            return
        target = event.command.get(event.command_name)
        line = f"{event.command_name} {target}" if isinstance(target, str) else event.command_name
        with self._lock:
            for recording in self._recordings:
                recording.append(line)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Only starts are counted."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Only starts are counted."""

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        """The commands sent to MongoDB inside the block, by any thread of this process."""
        commands: list[str] = []
        with self._lock:
            self._recordings.append(commands)
        try:
            yield commands
        finally:
            with self._lock:
                self._recordings.remove(commands)


RECORDER = CommandRecorder()


def mongo_commands() -> AbstractContextManager[list[str]]:
    """``with mongo_commands() as sent: ...; assert sent == []``."""
    return RECORDER.recording()
