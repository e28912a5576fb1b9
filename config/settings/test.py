"""The test suite: fast password hashing, real Redis and MongoDB (set by `make test`)."""

from __future__ import annotations

from config.env import env_str
from config.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "test-only-insecure-key-" + "x" * 40)
SIMPLE_JWT["SIGNING_KEY"] = env_str("JWT_SIGNING_KEY", "") or SECRET_KEY
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
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
