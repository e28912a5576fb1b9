"""Django's ``flush``, emptying only the collections written since the last flush (common/flush_written)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.management.color import no_style
from django.core.management.commands import flush
from django.core.management.sql import emit_post_migrate_signal, sql_flush
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from common.flush_written.listener import WRITTEN


@dataclass(frozen=True)
class AfterFullFlush:
    """What a database holds right after a full flush: which collections ``post_migrate`` filled
    again, and how many documents there are in all."""

    refilled: frozenset[str]
    documents: int


_after_full_flush: dict[str, AfterFullFlush] = {}


def document_count(connection: BaseDatabaseWrapper) -> int:
    return int(connection.database.command("dbStats")["objects"])


def listening(connection: BaseDatabaseWrapper) -> bool:
    connection.ensure_connection()
    return WRITTEN in connection.connection.options.event_listeners


class Command(flush.Command):
    help = f"{flush.Command.help} Empties only the collections written since the last flush when that is known."

    def handle(self, **options: Any) -> None:
        if options["interactive"] or options.get("inhibit_post_migrate", False):
            super().handle(**options)
            return
        database = options["database"]
        connection = connections[database]
        name = connection.settings_dict["NAME"]
        written = WRITTEN.since_last_flush(name)
        known = _after_full_flush.get(name)
        if written is None or known is None or not listening(connection):
            self.flush_everything(database, options["verbosity"])
            return
        emptied = [table for table in sql_flush(no_style(), connection) if table in written]
        connection.ops.execute_sql_flush(emptied)
        if known.refilled.intersection(emptied):
            emit_post_migrate_signal(options["verbosity"], False, database)
        WRITTEN.flushed(name)
        if document_count(connection) != known.documents:
            # Something this process did not send changed the database (another process's write).
            self.flush_everything(database, options["verbosity"])

    @staticmethod
    def flush_everything(database: str, verbosity: int) -> None:
        """Django's flush, noting what ``post_migrate`` filled again and the documents left."""
        connection = connections[database]
        name = connection.settings_dict["NAME"]
        tables = sql_flush(no_style(), connection)
        connection.ops.execute_sql_flush(tables)
        WRITTEN.flushed(name)
        if tables:  # as Django's flush: post_migrate would fail on a database without tables
            emit_post_migrate_signal(verbosity, False, database)
        refilled = WRITTEN.flushed(name)
        _after_full_flush[name] = AfterFullFlush(refilled, document_count(connection))
