"""The test suite: fast password hashing, real Redis and MongoDB started for the tests.

The suite empties Redis and drops MongoDB collections, so these settings refuse any server that
was not started for it (devstack/testservers.py starts them, for `pytest` and `make test`).
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from common.flush_written.listener import WRITTEN
from common.mongo_commands import RECORDER
from config.env import env_list, env_str
from config.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "test-only-insecure-key-" + "x" * 40)
SIMPLE_JWT["SIGNING_KEY"] = env_str("JWT_SIGNING_KEY", "") or SECRET_KEY
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-process tests read django.core.mail.outbox; a worker the tests start gets EMAIL_HOST, the
# address of an SMTP server the test runs (tests/jobs/mailserver.py).
EMAIL_BACKEND = EMAIL_BACKEND if EMAIL_HOST else "django.core.mail.backends.locmem.EmailBackend"
# Retries in seconds, not minutes, so a test can watch them happen.
EMAIL_RETRY_DELAYS = [int(delay) for delay in env_list("EMAIL_RETRY_DELAYS", "1,1,1")]
# Tests never depend on collectstatic having run.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# whitenoise serves straight from the app directories; no collectstatic needed here.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# seed_demo's own tests check the command, not the catalog (shop/tests cover shop.demo): a small
# catalog keeps them, and the database flush after them, well inside MongoDB's timeouts.
DEMO_CATALOG_SIZE = 40
# Tests of stock and expiry place many orders for one shopper; the cap's own tests set it low.
MAX_PENDING_ORDERS_PER_USER = 1000
# The lifespan's tests start and stop it without a database; config/tests/test_lifespan.py turns it on.
WARM_UP_AT_START = False
# No background retries of what an outage left owed to Redis: a thread paying it during a later
# test would write into that test's Redis. common/tests/test_redis_debts.py turns it on.
REDIS_DEBTS_RETRY_SECONDS = 0
# Tests count MongoDB round trips (common/mongo_commands.py): a signed-in catalog page makes none.
# The reset after each test empties only the collections the test wrote (common/flush_written).
INSTALLED_APPS = [*INSTALLED_APPS, "common.flush_written"]
DATABASES["default"]["OPTIONS"]["event_listeners"] = [RECORDER, WRITTEN]

# --- Only servers started for the tests ---------------------------------------------------------
# A server is the tests' when it is the one named TEST_REDIS_URL / TEST_MONGODB_URI (servers provided
# for the tests, as CI's containers), or when it reports the process id that devstack/testservers.py
# noted in TIENDA_TEST_REDIS_PID / TIENDA_TEST_MONGODB_PID as it started it.

NOT_A_TEST_SERVER = (
    "The tests use only servers started for them, and {name} at {url} is not one of them: the suite "
    "empties Redis and drops MongoDB collections. Run tests with `.venv/bin/pytest` (it starts a "
    "throwaway Redis and an in-memory MongoDB) or `make test`; to run them on servers of your own "
    "that they may erase, set {given}. ({reason})"
)


def _address(url: str) -> str:
    """host:port part of a redis:// or mongodb:// URL, without credentials."""
    return url.split("://", 1)[-1].split("/", 1)[0].rpartition("@")[2].split("?", 1)[0]


def _redis_pid(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def _mongodb_pid(uri: str) -> int:
    from pymongo import MongoClient

    with MongoClient(uri, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000) as client:
        return int(client.admin.command("serverStatus")["pid"])


def _refuse_servers_not_started_for_tests() -> None:
    for name, url, given, pid_variable, pid_of in (
        ("Redis", REDIS_URL, "TEST_REDIS_URL", "TIENDA_TEST_REDIS_PID", _redis_pid),
        ("MongoDB", MONGODB_URI, "TEST_MONGODB_URI", "TIENDA_TEST_MONGODB_PID", _mongodb_pid),
    ):
        if given in os.environ and _address(os.environ[given]) == _address(url):
            continue
        expected = os.environ.get(pid_variable)
        if expected is None:
            reason = f"{pid_variable} is not set: nothing started it for the tests"
        else:
            try:
                pid = pid_of(url)
            except Exception as error:  # noqa: BLE001 - any failure to ask is a refusal, with its cause
                reason = f"it did not answer: {error}"
            else:
                if str(pid) == expected:
                    continue
                reason = f"its process is {pid}, the one started for the tests was {expected}"
        message = NOT_A_TEST_SERVER.format(name=name, url=_address(url), given=given, reason=reason)
        raise ImproperlyConfigured(message)


_refuse_servers_not_started_for_tests()

# In-process tests write buffered page views with analytics.traffic.traffic.flush() when they check
# them; the background flush would write them at a moment of its own, into another test's Redis.
ANALYTICS_TRAFFIC_FLUSH_MS = 3_600_000
