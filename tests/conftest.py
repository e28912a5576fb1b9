"""Real Chromium for the tests that drive one (tests/e2e, tests/security): one browser per module,
fresh browser contexts per test (tests/e2e/browser.py launches Debian's Chromium)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.e2e.browser import chromium, new_context


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def open_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Opens fresh browser contexts on a base URL (one per person: their own cookies, storage and
    sockets), optionally with a signed-in user's ``storage_state``; all are closed after the test."""
    contexts: list[BrowserContext] = []

    def open_one(base_url: str, storage_state: dict | None = None) -> BrowserContext:
        contexts.append(new_context(browser, base_url, storage_state))
        return contexts[-1]

    yield open_one
    for context in contexts:
        context.close()
