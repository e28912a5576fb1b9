from __future__ import annotations

from django.apps import AppConfig


class FlushWrittenConfig(AppConfig):
    name = "common.flush_written"
    verbose_name = "Test database reset by written collections"
