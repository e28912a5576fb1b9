"""Production: every secret from the environment, HTTPS-only cookies, no debug.

Start-up fails with a message naming the variable when a required one is missing.
https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.settings.base import *  # noqa: F403

DEBUG = False  # not read from the environment: production can never run in debug
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 random characters.")
SIMPLE_JWT["SIGNING_KEY"] = env_str("JWT_SIGNING_KEY", "") or SECRET_KEY
if len(SIMPLE_JWT["SIGNING_KEY"]) < 50:
    raise ImproperlyConfigured("JWT_SIGNING_KEY, when set, must be at least 50 random characters.")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set the DJANGO_ALLOWED_HOSTS environment variable to the site's host names.")
if "*" in ALLOWED_HOSTS:
    # The hosts also decide which sites' pages may open WebSockets (AllowedHostsOriginValidator).
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS cannot be * in production: name the site's host names.")
# base.py already built DATABASES, CACHES and CHANNEL_LAYERS from these; in
# production they have no localhost default to fall back on.
env_str("MONGODB_URI")
if not REDIS_TARGET.uses_sentinels:
    env_str("REDIS_URL")  # or REDIS_SENTINELS and REDIS_MASTER_NAME (docs/deploy.md, "Redis")

# --- MongoDB: a replica set (docs/deploy.md, "MongoDB") ----------------------------------------
# MONGODB_URI names the members and the set: mongodb://m1,m2,m3/tienda?replicaSet=rs0. A write is
# acknowledged once a majority of members hold it, so a new primary elected after a failure has
# it; a write cut by a primary's failure is retried once on the new one (retryable writes). Reads
# go to the primary: checkout and status changes read the stock and the order they change, and a
# secondary may be behind. The URI's own options, when given, win over these.
# https://www.mongodb.com/docs/manual/reference/connection-string-options/
DATABASES["default"]["OPTIONS"] |= {
    "w": "majority",
    "retryWrites": True,
    "readPreference": "primary",
}
# Without a mail server, the shop's e-mails would go to files inside the container: refuse instead.
env_str("EMAIL_HOST")

DEMO_DATA_ALLOWED = False
# /healthz is reachable by anyone: it says ok/down per dependency, not where they are or why.
HEALTHZ_SHOW_DETAILS = False

# --- HTTPS ------------------------------------------------------------------------
# TLS ends at the proxy in front of the app; it must set X-Forwarded-Proto. base.py already sets
# the headers every environment gets (CSP, X-Frame-Options, nosniff, referrer policy).

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
