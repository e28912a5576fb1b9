"""Which collections each database had written since its last flush, from the commands sent."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from pymongo import monitoring

# Commands that change no data. Any command not named here or in COLLECTION_WRITES counts as a
# write the listener cannot attribute: the next flush is a full one.
READS = frozenset({
    "find", "getMore", "killCursors", "count", "distinct", "listCollections", "listIndexes",
    "listDatabases", "explain", "hello", "isMaster", "ismaster", "ping", "buildInfo", "buildinfo",
    "serverStatus", "dbStats", "collStats", "endSessions", "saslStart", "saslContinue",
    "connectionStatus", "getParameter",
})  # fmt: skip
# Commands that change the collection they name (and nothing else).
COLLECTION_WRITES = frozenset(
    {"insert", "update", "delete", "findAndModify", "create", "createIndexes", "drop", "dropIndexes", "collMod"}
)
AGGREGATION_WRITES = ("$out", "$merge")


class Unattributed:
    """A write the listener cannot pin to one collection."""


UNATTRIBUTED = Unattributed()


def collection_written(command_name: str, command: Mapping[str, Any]) -> str | Unattributed | None:
    """The collection ``command`` writes, ``UNATTRIBUTED``, or None for a command that writes nothing."""
    if command_name == "aggregate":
        pipeline = command.get("pipeline") or []
        writes = any(isinstance(stage, Mapping) and set(stage) & set(AGGREGATION_WRITES) for stage in pipeline)
        return UNATTRIBUTED if writes else None
    if command_name in READS:
        return None
    target = command.get(command_name)
    if command_name in COLLECTION_WRITES and isinstance(target, str):
        return target
    return UNATTRIBUTED


class WrittenCollections(monitoring.CommandListener):
    """Notes, per database, the collections written since its last ``flushed()``.

    A database is known only once it has been flushed while this listener was listening: until
    then, and after a write it cannot attribute, ``since_last_flush`` answers None.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._written: dict[str, set[str]] = {}
        self._unknown: set[str] = set()
        self._known: set[str] = set()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        written = collection_written(event.command_name, event.command)
        if written is None:
            return
        with self._lock:
            if isinstance(written, Unattributed):
                self._unknown.add(event.database_name)
            else:
                self._written.setdefault(event.database_name, set()).add(written)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Only starts matter: a failed write may still have changed something."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Only starts matter: a failed write may still have changed something."""

    def since_last_flush(self, database: str) -> frozenset[str] | None:
        """The collections of ``database`` written since its last flush; None when that is not known."""
        with self._lock:
            if database not in self._known or database in self._unknown:
                return None
            return frozenset(self._written.get(database, ()))

    def flushed(self, database: str) -> frozenset[str]:
        """Start counting ``database``'s writes again; the collections written since the last call."""
        with self._lock:
            self._known.add(database)
            self._unknown.discard(database)
            return frozenset(self._written.pop(database, ()))


WRITTEN = WrittenCollections()
