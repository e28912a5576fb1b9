"""Settings shared by every environment; local, test and production override a few.

Every value that varies between deployments is read here from the environment
(see .env.example for the full list).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from config.env import env_bool, env_int, env_list, env_str
from config.redis_settings import cache_settings, channel_layer_host, redis_target
from config.without_gis import leave_gis_out

# Before Django loads the database backend: it would search for GDAL three times (config/without_gis.py).
leave_gis_out()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# --- Core ---------------------------------------------------------------------

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

# --- Applications ---------------------------------------------------------------

DJANGO_APPS = [
    "config.apps.MongoAdminConfig",
    "config.apps.MongoAuthConfig",
    "config.apps.MongoContentTypesConfig",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_mongodb_backend",
]
THIRD_PARTY_APPS = [
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, not a CDN
    "config.apps.MongoDjangoRqConfig",  # the job queue's admin pages (config/queues_admin.py)
]
LOCAL_APPS = [
    "config",  # project-wide management commands (check_dependencies, seed_demo)
    "accounts",
    "shop",
    "orders",
    "analytics",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# --- Database: MongoDB through django-mongodb-backend -------------------------------
# https://django-mongodb-backend.readthedocs.io/en/latest/intro/configure.html
# The database name is the URI's path (mongodb://host:port/<name>).

MONGODB_URI = env_str("MONGODB_URI", "mongodb://127.0.0.1:27018/tienda?directConnection=true")
MONGODB_TIMEOUT_MS = env_int("MONGODB_TIMEOUT_MS", default=5000)
DATABASES = {
    "default": {
        "ENGINE": "django_mongodb_backend",
        "HOST": MONGODB_URI,
        "NAME": "",  # taken from the URI's path by the backend
        "OPTIONS": {
            "serverSelectionTimeoutMS": MONGODB_TIMEOUT_MS,
            "connectTimeoutMS": MONGODB_TIMEOUT_MS,
        },
    },
}
DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
# The contrib apps' stock migrations use AutoField; these are generated for ObjectId keys.
MIGRATION_MODULES = {
    "admin": "config.contrib_migrations.admin",
    "auth": "config.contrib_migrations.auth",
    "contenttypes": "config.contrib_migrations.contenttypes",
    "django_rq": "config.contrib_migrations.django_rq",
}

# --- Redis: cache, sessions' copies, blocklist, channel layer, job queues -------------------
# One server (REDIS_URL) or a primary with replicas behind Redis Sentinel (REDIS_SENTINELS and
# REDIS_MASTER_NAME); config/redis_settings.py builds every client's settings from either, and
# docs/deploy.md says how to run each. Keys namespaced by purpose (README, "Redis keys").

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6390/0")
REDIS_TARGET = redis_target(
    url=REDIS_URL,
    sentinels=env_str("REDIS_SENTINELS", ""),
    master_name=env_str("REDIS_MASTER_NAME", ""),
    db=env_int("REDIS_DB", default=0, minimum=0),
    password=env_str("REDIS_PASSWORD", ""),
    sentinel_password=env_str("REDIS_SENTINEL_PASSWORD", ""),
)
REDIS_TIMEOUT_SECONDS = env_int("REDIS_TIMEOUT_MS", default=1000) / 1000
CACHE_TTL_SECONDS = env_int("CACHE_TTL_SECONDS", default=600)
# A revocation (logout, ban, log out everywhere) answers success only once this many replicas hold
# it, within the wait (accounts/blocklist.py): a failover then cannot bring the revoked sign-in
# back. Default: one replica with sentinels, none for one server (it has no replica to wait for).
REDIS_REVOCATION_REPLICAS = env_int(
    "REDIS_REVOCATION_REPLICAS", default=1 if REDIS_TARGET.uses_sentinels else 0, minimum=0
)
REDIS_REVOCATION_WAIT_MS = env_int("REDIS_REVOCATION_WAIT_MS", default=500, minimum=1)

CACHES = {
    # A cache outage must not take pages down (IGNORE_EXCEPTIONS; the blocklist does NOT do this).
    "default": {
        **cache_settings(
            REDIS_TARGET, key_prefix="cache", timeout_seconds=REDIS_TIMEOUT_SECONDS, IGNORE_EXCEPTIONS=True
        ),
        "TIMEOUT": CACHE_TTL_SECONDS,
    },
    # Site sessions' copies (accounts/session_store.py): errors reach the store, which falls
    # back to MongoDB, where every session is stored (docs/decisions/0008-site-sessions-in-redis.md).
    "sessions": {
        **cache_settings(
            REDIS_TARGET,
            key_prefix="sess",
            timeout_seconds=REDIS_TIMEOUT_SECONDS,
            SERIALIZER="django_redis.serializers.json.JSONSerializer",
        ),
        "KEY_FUNCTION": "accounts.session_store.session_cache_key",
    },
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# --- Site sessions: stored in MongoDB, read from Redis -------------------------------
# https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cached-sessions
SESSION_ENGINE = "accounts.session_store"
SESSION_CACHE_ALIAS = "sessions"

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # channels-redis blocks up to 5 s reading a channel and redis-py 8 also times out at
            # 5 s, so idle consumers crashed every ~5 s (close 1006, pushes lost). And its
            # pool of 100 connections failed group_discard calls when 1,000 sockets closed at
            # once, leaving dead members in groups. Measured in docs/benchmarks/push.md.
            "hosts": [channel_layer_host(REDIS_TARGET, socket_timeout=10, max_connections=2000)],
            "prefix": "ws",
        },
    },
}

# --- The job queue: django-rq on RQ, state in Redis only (docs/decisions/0007-job-queue.md) ------
# Queues by urgency; every queue reuses the ``default`` cache's connection pool (USE_REDIS_CACHE),
# so one place (REDIS_TARGET above) configures every Redis client, sentinels included. The worker
# widens its own socket timeout for blocking pops; app processes keep the cache's 1 s, so a Redis
# outage never holds a request.
# https://github.com/rq/django-rq#support-for-django-redis-and-django-redis-cache

# A job still running after its queue's timeout is stopped (RQ's death penalty). An e-mail job
# must stop before its order e-mail lease runs out (ORDER_EMAIL_LEASE_SECONDS, below).
EMAIL_JOB_TIMEOUT_SECONDS = env_int("EMAIL_JOB_TIMEOUT_SECONDS", default=60, minimum=1)
RQ_QUEUES = {
    name: {"USE_REDIS_CACHE": "default", "DEFAULT_TIMEOUT": timeout}
    for name, timeout in (("email", EMAIL_JOB_TIMEOUT_SECONDS), ("default", 300), ("low", 600))
}
RQ = {
    # Enqueue when called: django-rq's on_db_commit mode reads Django's in_atomic_block, which
    # django-mongodb-backend never sets; common/jobs.py defers to transaction.on_commit itself.
    "COMMIT_MODE": "auto",
    "WORKER_CLASS": "config.worker.TiendaWorker",
}
# config/queues_admin.py registers the pages itself: staff only, 403 for signed-in shoppers.
RQ_SHOW_ADMIN_LINK = False

# Open WebSockets per user across every server process (accounts/socket_slots.py); 0 = no cap.
# Each socket's slot is a lease its process renews every third of WS_SOCKET_LEASE_SECONDS, so the
# sockets of a process that died uncleanly stop counting within one lease.
WS_MAX_SOCKETS_PER_USER = env_int("WS_MAX_SOCKETS_PER_USER", default=20)
WS_SOCKET_LEASE_SECONDS = env_int("WS_SOCKET_LEASE_SECONDS", default=60)
# Seconds between a process's retries of the Redis work a write left undone while Redis was
# unreachable (common/redis_debts.py); 0: only at the process's next contact with Redis.
REDIS_DEBTS_RETRY_SECONDS = 1.0

# --- Authentication ---------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "shop:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Accounts: login, reset and sign-up throttling (accounts/ratelimit.py) ---------
# Failed logins per account (e-mail typed) and per client IP; the window restarts at each
# failure. At a limit the login page answers 429 without checking the password. The per-IP
# limit also caps password-reset requests per client IP (mail bombing).

LOGIN_FAILURES_PER_ACCOUNT = 5
LOGIN_FAILURES_PER_IP = 20
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
# Accounts created per client IP; at the limit the sign-up page answers 429 until the window
# (restarted at each sign-up) has passed. Raise it for load tests that sign up from one address.
SIGNUPS_PER_IP = env_int("SIGNUPS_PER_IP", default=5)
SIGNUP_WINDOW_SECONDS = env_int("SIGNUP_WINDOW_SECONDS", default=60 * 60)

# --- HTTP -------------------------------------------------------------------------

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # 413 for bodies config/limits.py held back, in the visitor's language (hence after Locale).
    "config.limits.BodyTooLargeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the user read from their card in Redis (accounts/user_cache.py).
    "accounts.middleware.CardAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    # Counts page views in memory (analytics/traffic.py); left out with ANALYTICS_ENABLED off.
    "analytics.middleware.TrafficMiddleware",
]
# The chain is built synchronous and each request runs it whole on a pool thread (config/http_handler.py).

# --- Security headers and input limits, every environment (docs/security.md) ------------
# production.py adds what needs HTTPS: HSTS, secure cookies, the redirect.
# https://docs.djangoproject.com/en/5.2/ref/middleware/#module-django.middleware.security

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# config/security.py sends it. No inline script or style anywhere: Tienda's pages and Django's
# admin load both from files. Images may be absolute https URLs (the product API accepts them).
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "https:"],
    "connect-src": ["'self'"],  # includes ws(s):// to the same host (CSP level 3)
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Directives replaced under a path prefix. Swagger UI (drf-spectacular's split view: its script is
# a file) has an inline <style> in its page and sets style attributes in its markup.
CONTENT_SECURITY_POLICY_EXCEPTIONS = {
    "/api/docs/": {"style-src": ["'self'", "'unsafe-inline'"]},
}
CONTENT_SECURITY_POLICY_REPORT_ONLY = False  # local.py: True in debug (Django's debug pages)

# /healthz names each dependency's address and, when down, the error; production.py turns it off.
HEALTHZ_SHOW_DETAILS = True

# The largest request body accepted, in bytes (config/limits.py answers 413 above it, before
# anything buffers the body). Tienda's largest legitimate body is a 50-line order: about 5 KB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_048_576

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Internationalisation -----------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise serves them from the ASGI app) -----------------------
# https://whitenoise.readthedocs.io/en/stable/django.html

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- API --------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JWT first: DRF answers an anonymous request 401 only when the first class sends a
    # WWW-Authenticate challenge (JWT does, Session does not; otherwise 403).
    # https://www.django-rest-framework.org/api-guide/authentication/#unauthorized-and-forbidden-responses
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TiendaJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Each API class states its own permissions; this is only the fallback.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],  # DRF's, plus a 400 for too-deep JSON
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Only the token endpoint uses it: password guessing over the API, per client IP.
    "DEFAULT_THROTTLE_RATES": {"anon": env_str("API_TOKEN_RATE", "20/minute")},
}
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Tienda API",
    "DESCRIPTION": "Catalog, orders and accounts of the Tienda shop.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components, so read-only and write-only fields are accurate.
    "COMPONENT_SPLIT_REQUEST": True,
    "TAGS": [{"name": "catalog", "description": "Products and categories: public reads, staff writes."}],
}

# --- API tokens (simplejwt + the Redis blocklist in accounts/blocklist.py) -------------------
# https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "ALGORITHM": "HS256",
    # Set by each environment file once SECRET_KEY is final (local, test, production).
    "SIGNING_KEY": None,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.TiendaAccessToken",),
    "UPDATE_LAST_LOGIN": False,
}

# --- Orders: stock left half-moved by a failure (orders/stock.py) ---------------------------
# A stock take whose order was never stored is put back, and a cancellation whose units were not
# all returned is finished, once older than the timeout; the queue's scheduler runs the check once
# per interval for the whole deployment (config/upkeep.py; 0 turns it off, `manage.py settle_stock`
# does it by hand).

STOCK_HOLD_TIMEOUT_SECONDS = env_int("STOCK_HOLD_TIMEOUT_SECONDS", default=120)
STOCK_SETTLE_INTERVAL_SECONDS = env_int("STOCK_SETTLE_INTERVAL_SECONDS", default=30)

# --- Orders: the payment window (orders/services.py, orders_expire_overdue) -----------------
# A pending order holds its units for this long; then it is cancelled and they go back on sale.
# The queue's scheduler looks for overdue orders once per interval (config/upkeep.py; 0 turns it
# off for deployments that run `manage.py expire_orders` from cron instead).

ORDER_PAYMENT_WINDOW_MINUTES = env_int("ORDER_PAYMENT_WINDOW_MINUTES", default=30, minimum=1, maximum=7 * 24 * 60)
ORDER_EXPIRY_INTERVAL_SECONDS = env_int("ORDER_EXPIRY_INTERVAL_SECONDS", default=30, minimum=0)
# A checkout is refused (409 too_many_pending_orders) while the user has this many unpaid orders.
MAX_PENDING_ORDERS_PER_USER = env_int("MAX_PENDING_ORDERS_PER_USER", default=5, minimum=1)

# --- Analytics (analytics/): live shop figures in Redis, for staff ---------------------------
# Off: no page view or order event is counted (the dashboard shows what Redis still holds).
ANALYTICS_ENABLED = env_bool("ANALYTICS_ENABLED", default=True)
# The shop's time zone: "today" starts at its local midnight (analytics/days.py).
SHOP_TIME_ZONE = env_str("SHOP_TIME_ZONE", "Europe/Madrid")
# Each process writes its buffered page views to Redis this often, from a background thread.
ANALYTICS_TRAFFIC_FLUSH_MS = env_int("ANALYTICS_TRAFFIC_FLUSH_MS", default=1000, minimum=50)
# Open dashboards get one snapshot this often, for the whole deployment (analytics/push.py).
ANALYTICS_PUSH_SECONDS = env_int("ANALYTICS_PUSH_SECONDS", default=3, minimum=1)
# The scheduler checks this often whether Redis lost today's figures and rebuilds them (0: off).
ANALYTICS_REBUILD_CHECK_INTERVAL_SECONDS = env_int("ANALYTICS_REBUILD_CHECK_INTERVAL_SECONDS", default=60, minimum=0)
# "Low stock": on sale with this many units or fewer; the list is read from MongoDB at most this often.
ANALYTICS_LOW_STOCK = env_int("ANALYTICS_LOW_STOCK", default=3, minimum=0)
ANALYTICS_LOW_STOCK_CACHE_SECONDS = env_int("ANALYTICS_LOW_STOCK_CACHE_SECONDS", default=30, minimum=1)
ANALYTICS_CHART_CURRENCY = env_str("ANALYTICS_CHART_CURRENCY", "EUR")
if not ANALYTICS_ENABLED:
    MIDDLEWARE.remove("analytics.middleware.TrafficMiddleware")

# --- Start-up ---------------------------------------------------------------------
# Each app process loads the first pages' data, templates and messages before it serves
# (shop/warmup.py, config/lifespan.py), so the first visitor does not pay for them.
WARM_UP_AT_START = env_bool("WARM_UP_AT_START", default=True)

# --- E-mail (common/mail.py): sent by the worker, never inside a request ---------------------------
# Production: SMTP from the environment. Without EMAIL_HOST, local runs write every message to a
# file under EMAIL_FILE_PATH (the `make run` banner says where) and tests capture them.
# https://docs.djangoproject.com/en/5.2/topics/email/#smtp-backend

EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=EMAIL_PORT == 465)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", default=10, minimum=1)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(Path(env_str("TIENDA_VAR_DIR", str(BASE_DIR / "var"))) / "mail"))
# common.mail.SmtpBackend is Django's SMTP backend that reports the moment of the hand-over.
EMAIL_BACKEND = "common.mail.SmtpBackend" if EMAIL_HOST else "django.core.mail.backends.filebased.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Tienda <shop@localhost>")
# Links in e-mails (order pages, password reset, address confirmation): jobs have no request.
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{env_int('PORT', default=8000)}").rstrip("/")
# A failed send is retried after each of these delays (seconds), then lands in the failed registry.
EMAIL_RETRY_DELAYS = [int(delay) for delay in env_list("EMAIL_RETRY_DELAYS", "10,60,300,1800")]
# How long a worker holds one order e-mail (orders/notifications.py): after it, a claim whose
# worker died is taken over, and a hand-over whose worker died is marked "delivery unknown".
# Longer than the e-mail job's timeout, so a live worker's job always ends first.
ORDER_EMAIL_LEASE_SECONDS = env_int(
    "ORDER_EMAIL_LEASE_SECONDS", default=max(120, EMAIL_JOB_TIMEOUT_SECONDS + 60), minimum=EMAIL_JOB_TIMEOUT_SECONDS + 1
)
# The scheduler looks for order events whose e-mail was never queued, or whose sender died, this often.
ORDER_EMAIL_RECONCILE_INTERVAL_SECONDS = env_int("ORDER_EMAIL_RECONCILE_INTERVAL_SECONDS", default=60, minimum=0)

# --- Demo data ----------------------------------------------------------------------

DEMO_PASSWORD = env_str("DEMO_PASSWORD", "tienda-demo")
DEMO_CATALOG_SIZE = env_int("DEMO_CATALOG_SIZE", default=5000)
DEMO_DATA_ALLOWED = True  # production.py turns it off: demo accounts never exist there

# --- Logging ----------------------------------------------------------------------

# Every record goes to the root's one handler, once. Django's own "django" logger has a console
# handler of its own in debug (django.utils.log.DEFAULT_LOGGING), which printed every warning of
# django.* twice with DJANGO_DEBUG=1; here it has none and passes its records up to the root.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}
