"""shop/warmup.py: after the start-up warm-up, the first visitor's home and category pages read
nothing from MongoDB."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.template import engines
from django.test import Client

from common.mongo_commands import mongo_commands
from shop.warmup import TEMPLATES, catalog_warm_up


@pytest.mark.django_db
def test_after_the_warm_up_the_first_pages_read_nothing_from_mongodb(catalog: SimpleNamespace) -> None:
    timings = catalog_warm_up()

    assert set(timings) == {"home", "categories", "templates"}
    for path in ("/", f"/c/{catalog.clothing.slug}/", f"/c/{catalog.books.slug}/"):
        with mongo_commands() as sent:
            assert Client().get(path).status_code == 200
        assert sent == [], f"{path}: {sent}"


@pytest.mark.django_db
def test_the_warm_up_compiles_the_catalog_templates(catalog: SimpleNamespace) -> None:
    loader = engines["django"].engine.template_loaders[0]  # the cached loader (DEBUG off)
    loader.reset()
    catalog_warm_up()
    assert set(TEMPLATES) <= set(loader.get_template_cache)
