"""config/views.py ApiSchemaView: /api/schema/ generates one schema at a time."""

from __future__ import annotations

import time

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.concurrency import all_at_once


@pytest.mark.django_db
def test_overlapping_schema_requests_are_served_one_after_the_other(client, monkeypatch) -> None:
    # drf-spectacular's first generation is not thread-safe (see ApiSchemaView): two at once
    # answered 500 on a fresh server. The generator is slowed down so that requests would overlap.
    running, overlaps = [0], []
    original = SchemaGenerator.get_schema

    def slow_get_schema(self, *args, **kwargs):
        running[0] += 1
        overlaps.append(running[0])
        time.sleep(0.2)
        try:
            return original(self, *args, **kwargs)
        finally:
            running[0] -= 1

    monkeypatch.setattr(SchemaGenerator, "get_schema", slow_get_schema)
    statuses = all_at_once(2, lambda: client.get("/api/schema/").status_code)
    assert statuses == [200, 200]
    assert max(overlaps) == 1, "two generations ran at once"
