"""`python -m devstack.prepare`: check MongoDB and Redis, migrate, load the demo data; one Django process.

`make run` used to start `manage.py` three times for these steps, each paying Django's set-up
(about 1.5 s on these machines). Migrations run only when some are unapplied: a later start has
none, and `migrate` would still build every model state and re-check every content type and
permission. Exits 2 with the command's message when a step fails.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable


def step(message: str, action: Callable[[], None]) -> None:
    print(f"==> {message}", flush=True)
    started = time.monotonic()
    action()
    print(f"    done in {time.monotonic() - started:.1f} s", flush=True)


def migrate_if_needed() -> None:
    from django.core.management import call_command
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections["default"])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)
    else:
        print("    every migration is applied", flush=True)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import CommandError, call_command

    try:
        django.setup()  # a setting that does not parse (REDIS_SENTINELS=...) stops here, named
    except ImproperlyConfigured as error:
        print(f"\nerror: {error}", file=sys.stderr, flush=True)
        return 2
    try:
        step("Checking that MongoDB and Redis answer", lambda: call_command("check_dependencies"))
        step("Applying database migrations", migrate_if_needed)
        step("Loading demo data if the database is empty", lambda: call_command("seed_demo", if_empty=True))
    except CommandError as error:
        print(f"\nerror: {error}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
