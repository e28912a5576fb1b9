"""mongoeco's packaged capability documents read and validated once, not on every explain.

Each ``explain`` of a find or an aggregation adds a ``cxp`` section built from JSON documents
packaged with mongoeco (its capability catalog, declared snapshot and profiles). mongoeco reads
each one again and validates it against its JSON schema on every call: about 0.1 s of an
explain that otherwise takes a few milliseconds. The documents are package data, and each
loaded one is immutable (``cxp.exchange.Document`` keeps only its canonical bytes and hands out
copies), so one load per process gives the same answers.
"""

from __future__ import annotations

import functools


def install() -> None:
    from mongoeco.cxp.exchange import documents

    # load_mongodb_catalog and the others call the module's _read by name: all of them share the cache.
    documents._read = functools.cache(documents._read)
