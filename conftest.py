"""Suite-wide fixtures. The tests' Redis and MongoDB are their own (devstack/pytest_plugin.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Fixtures that tests of several packages use: shoppers, staff, products and a small catalog.
pytest_plugins = ["orders.tests.fixtures", "shop.tests.fixtures"]

# pytest-django's fixtures behind database access (the django_db marker requests them too).
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


@pytest.fixture
def empty_redis() -> None:
    """The test starts with an empty Redis database (cache, blocklist, rate limits, channel layer)."""
    from django_redis import get_redis_connection

    get_redis_connection("default").flushdb()


@pytest.fixture(autouse=True)
def _empty_redis_for_database_tests(request: pytest.FixtureRequest) -> None:
    """Tests with a database are tests of the app, and the app keeps state in Redis: they get an
    empty one. The few that use Redis without a database ask for ``empty_redis`` themselves;
    the rest (launcher, compose file, lint) never reach Redis."""
    if DATABASE_FIXTURES & set(request.fixturenames) or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("empty_redis")


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> None:
    """Each test gets a channel layer of its own.

    A server process has one event loop; the tests get a new loop each. channels-redis keeps
    per-loop receive state (a lock, a count) on the layer, so a receive that an earlier test's
    loop left behind (a staff fan-out still waiting when its loop closed, common/fanout.py) made
    the next loop's receive fail: "Lock ... is bound to a different event loop".
    """
    from channels.layers import channel_layers

    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language. A request through Django's test client runs in the
    test's thread, and LocaleMiddleware leaves the language it chose (a Spanish cookie or
    Accept-Language) active there after the response: a later test that renders a message outside
    a request would get it in Spanish, depending on which modules ran before it on its worker."""
    yield
    from django.utils import translation

    translation.deactivate()
