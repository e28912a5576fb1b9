"""Every Redis client's settings, built in one place from the environment (config/settings/base.py).

Two deployments:

- ``REDIS_URL``: one Redis server.
- ``REDIS_SENTINELS`` (``host:port,host:port,...``) and ``REDIS_MASTER_NAME``: a primary with
  replicas, watched by Redis Sentinel. Every client asks the sentinels for the primary and asks
  again after a failover; ``REDIS_SENTINEL_PASSWORD`` when the sentinels require one,
  ``REDIS_PASSWORD`` and ``REDIS_DB`` for the data servers.

The clients: django-redis's caches (``default``: cache, blocklist, rate limits, socket slots,
tickets; ``sessions``: site sessions' copies), which every module reaches through
``django_redis.get_redis_connection``; the channel layer (channels-redis); the job queues
(django-rq, ``USE_REDIS_CACHE``: the ``default`` cache's connection pool). With sentinels,
django-redis uses its ``SentinelConnectionFactory`` with the ``DefaultClient`` and one location,
so reads and writes both go to the primary: its ``SentinelClient`` would send reads to a replica,
which may not yet hold the write just made (a revocation, a cache namespace bump).
https://github.com/jazzband/django-redis#use-the-sentinel-connection-factory
https://github.com/django/channels_redis#sentinel-connections
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

SENTINELS_SETTING = "REDIS_SENTINELS"
URL_SETTING = "REDIS_URL"


def redact_url(url: str) -> str:
    """The URL without its password, safe for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is: one server's URL, or sentinels and the name of the primary they watch."""

    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str = ""
    db: int = 0
    password: str = ""
    sentinel_password: str = ""

    @property
    def uses_sentinels(self) -> bool:
        return bool(self.sentinels)

    @property
    def setting(self) -> str:
        """The environment variable people change to point the app elsewhere."""
        return SENTINELS_SETTING if self.uses_sentinels else URL_SETTING

    def describe(self) -> str:
        """The addresses, without passwords: for /healthz, logs and start-up errors."""
        if not self.uses_sentinels:
            return redact_url(self.url)
        listed = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"sentinels {listed} (primary {self.master_name!r})"

    @property
    def location(self) -> str:
        """django-redis's LOCATION: the URL, or ``redis://<master name>/<db>`` for its sentinel factory."""
        if not self.uses_sentinels:
            return self.url
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}{self.master_name}/{self.db}"

    def sentinel_kwargs(self) -> dict[str, Any]:
        """Options of the connections to the sentinels themselves."""
        kwargs: dict[str, Any] = {"socket_connect_timeout": 1, "socket_timeout": 1}
        if self.sentinel_password:
            kwargs["password"] = self.sentinel_password
        return kwargs


def parse_sentinels(raw: str) -> tuple[tuple[str, int], ...]:
    """``host:port,host:port`` as (host, port) pairs; ImproperlyConfigured naming the setting otherwise."""
    found = []
    for item in (part.strip() for part in raw.split(",")):
        host, _, port = item.rpartition(":")
        if not item or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ImproperlyConfigured(
                f"{SENTINELS_SETTING}={raw!r} does not parse: give the sentinels as host:port pairs separated "
                f"by commas, e.g. 10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379 (the entry {item!r} is not one)."
            )
        found.append((host.strip("[]"), int(port)))
    return tuple(found)


def redis_target(
    *, url: str, sentinels: str, master_name: str, db: int, password: str, sentinel_password: str
) -> RedisTarget:
    """The target the environment names: sentinels when ``sentinels`` is set, else ``url``."""
    if not sentinels.strip():
        return RedisTarget(url=url)
    if not master_name:
        raise ImproperlyConfigured(
            f"{SENTINELS_SETTING} is set but REDIS_MASTER_NAME is not: name the primary the sentinels watch "
            "(their `sentinel monitor <name> ...` line)."
        )
    return RedisTarget(
        sentinels=parse_sentinels(sentinels),
        master_name=master_name,
        db=db,
        password=password,
        sentinel_password=sentinel_password,
    )


def cache_settings(target: RedisTarget, *, key_prefix: str, timeout_seconds: float, **extra: Any) -> dict[str, Any]:
    """One django-redis cache on ``target``; ``extra`` goes into its OPTIONS."""
    options: dict[str, Any] = {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": timeout_seconds,
        "SOCKET_TIMEOUT": timeout_seconds,
        **extra,
    }
    if target.uses_sentinels:
        options["CONNECTION_FACTORY"] = "django_redis.pool.SentinelConnectionFactory"
        options["SENTINELS"] = list(target.sentinels)
        options["SENTINEL_KWARGS"] = target.sentinel_kwargs()
    backend = "django_redis.cache.RedisCache"
    return {"BACKEND": backend, "LOCATION": target.location, "KEY_PREFIX": key_prefix, "OPTIONS": options}


def channel_layer_host(target: RedisTarget, **options: Any) -> dict[str, Any]:
    """One entry of channels-redis's ``hosts``: the URL, or its sentinel form."""
    if not target.uses_sentinels:
        return {"address": target.url, **options}
    host: dict[str, Any] = {
        "sentinels": list(target.sentinels),
        "master_name": target.master_name,
        "sentinel_kwargs": target.sentinel_kwargs(),
        "db": target.db,
        **options,
    }
    if target.password:
        host["password"] = target.password
    return host


def sentinels_answering(target: RedisTarget) -> str:
    """Ask each sentinel for the primary; its address, or RuntimeError naming every address tried."""
    import redis

    errors = []
    for host, port in target.sentinels:
        client = redis.Redis(host=host, port=port, **target.sentinel_kwargs())
        try:
            answer = client.sentinel_get_master_addr_by_name(target.master_name)
        except redis.RedisError as error:
            errors.append(f"{host}:{port}: {type(error).__name__}: {error}")
            continue
        finally:
            client.close()
        if answer:
            return f"{answer[0]}:{answer[1]}"
        errors.append(f"{host}:{port}: knows no primary named {target.master_name!r}")
    raise RuntimeError("no sentinel answered with a primary (" + "; ".join(errors) + ")")
