"""The engine's SQLite connection keeps the whole demo catalog in its page cache.

SQLite's default cache is 2 MB; the demo catalog's file is about 30 MB. A listing reads its
category's documents through a companion index, and with the default cache most of those pages
were read again from the file for each query (the count and then the page of the same listing):
a listing's two queries took about 15 % longer. 64 MB holds the catalog, its indexes and the
orders of a demo shop; SQLite allocates pages as it reads them, so a smaller file costs less.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from devstack.mongoeco_compat.changes import after_connect

CACHE_KIB = 64 * 1024


def install() -> None:
    def enlarge(engine: Any) -> None:
        # Negative: a size in KiB rather than in pages (SQLite's convention).
        sqlite3.Connection.execute(engine._connection, f"PRAGMA cache_size = -{CACHE_KIB}")

    after_connect(enlarge)
