"""Exit non-zero, naming the address, when MongoDB or Redis cannot be reached."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from config.health import dependency_statuses

_SETTING_FOR = {"mongodb": "MONGODB_URI", "redis": "REDIS_URL"}


class Command(BaseCommand):
    help = "Check that MongoDB and Redis answer; used at start-up by `make run` and the container."

    def handle(self, *args: Any, **options: Any) -> None:
        failures = []
        for status in dependency_statuses():
            if status.ok:
                self.stdout.write(f"    {status.name}: ok at {status.address} ({status.latency_ms} ms)")
            else:
                failures.append(
                    f"cannot reach {status.name} at {status.address} (from {_SETTING_FOR[status.name]}): {status.error}"
                )
        if failures:
            raise CommandError("\n".join(failures))
