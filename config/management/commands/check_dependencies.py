"""Exit non-zero, naming the address, when MongoDB or Redis cannot be reached."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.health import dependency_statuses


class Command(BaseCommand):
    help = "Check that MongoDB and Redis answer; used at start-up by `make run` and the container."

    def handle(self, *args: Any, **options: Any) -> None:
        failures = []
        setting_for = {"mongodb": "MONGODB_URI", "redis": settings.REDIS_TARGET.setting}
        for status in dependency_statuses():
            if status.ok:
                self.stdout.write(f"    {status.name}: ok at {status.address} ({status.latency_ms} ms)")
            else:
                failures.append(
                    f"cannot reach {status.name} at {status.address} (from {setting_for[status.name]}): {status.error}"
                )
        if failures:
            raise CommandError("\n".join(failures))
