"""Load the demo data: demo accounts (and, as apps grow, the demo catalog)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.services import demo_accounts_create


class Command(BaseCommand):
    help = "Create the demo accounts listed in the README. Never run by production settings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the database already holds users (used by `make run`)",
        )

    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError("Demo data is disabled in these settings (production never has demo accounts).")
        if if_empty and User.objects.exists():
            self.stdout.write("    database already has data; demo data not loaded")
            return
        created = demo_accounts_create(password=settings.DEMO_PASSWORD)
        for user in created:
            self.stdout.write(f"    created demo account {user.email}")
