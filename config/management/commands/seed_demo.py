"""Load the demo data: the README's demo accounts and a deterministic demo catalog."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.services import demo_accounts_create
from shop import demo
from shop.models import Category, Product
from shop.services import category_saved, products_import


class Command(BaseCommand):
    help = "Create the demo accounts and catalog listed in the README. Never run by production settings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the database already holds users or products (used by `make run`)",
        )
        parser.add_argument(
            "--size",
            type=int,
            default=settings.DEMO_CATALOG_SIZE,
            help="how many products (default: DEMO_CATALOG_SIZE, 5,000)",
        )
        parser.add_argument("--seed", type=int, default=7, help="random seed: the same seed, the same catalog")

    def handle(self, *args: Any, if_empty: bool = False, size: int, seed: int, **options: Any) -> None:
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError("Demo data is disabled in these settings (production never has demo accounts).")
        if size < 0:
            raise CommandError("--size must be 0 or more.")
        if if_empty and (User.objects.exists() or Product.objects.exists()):
            self.stdout.write("    database already has data; demo data not loaded")
            return
        for user in demo_accounts_create(password=settings.DEMO_PASSWORD):
            self.stdout.write(f"    created demo account {user.email}")
        if Product.objects.exists():
            self.stdout.write("    catalog already has products; demo catalog not loaded")
            return
        self._load_catalog(size=size, seed=seed)

    def _load_catalog(self, *, size: int, seed: int) -> None:
        categories: dict[str, Category] = {}
        for category in demo.categories():
            existing = Category.objects.filter(slug=category.slug).first()
            if category.parent is not None:
                category.parent = categories[category.parent.slug]
            categories[category.slug] = existing or category_saved(category=category)
        started = time.monotonic()
        interactive = sys.stdout.isatty()
        previous = started

        def progress(done: int) -> None:
            # Each batch's own time too: a load whose batches slow down as the catalog grows is a bug.
            nonlocal previous
            now = time.monotonic()
            left = (size - done) * (now - started) / max(1, done)
            line = (
                f"    products: {done:,}/{size:,} ({now - started:.1f} s; this batch {now - previous:.2f} s; "
                f"about {left:.0f} s left)"
            )
            previous = now
            self.stdout.write(f"\r{line}" if interactive else line, ending="" if interactive else "\n")
            self.stdout.flush()

        created = products_import(products=demo.products(categories, size=size, seed=seed), progress=progress)
        if interactive:
            self.stdout.write("")
        self.stdout.write(
            f"    created {len(categories)} categories and {created:,} products in {time.monotonic() - started:.1f} s"
        )
