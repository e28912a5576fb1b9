"""config/redis_settings.py: one server or sentinels, read from the environment's values."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.redis_settings import cache_settings, channel_layer_host, parse_sentinels, redis_target


def sentinel_target(sentinels: str, master_name: str = "tienda", **extra: str):
    values = {"password": "", "sentinel_password": "", **extra}
    return redis_target(url="redis://ignored:6379/0", sentinels=sentinels, master_name=master_name, db=2, **values)


def test_without_sentinels_every_client_uses_the_url() -> None:
    target = redis_target(
        url="redis://cache:6379/0", sentinels=" ", master_name="", db=0, password="", sentinel_password=""
    )
    assert not target.uses_sentinels
    assert target.setting == "REDIS_URL"
    assert cache_settings(target, key_prefix="cache", timeout_seconds=1)["LOCATION"] == "redis://cache:6379/0"
    assert channel_layer_host(target, socket_timeout=10) == {"address": "redis://cache:6379/0", "socket_timeout": 10}


def test_with_sentinels_every_client_asks_them_for_the_primary() -> None:
    target = sentinel_target("10.0.0.1:26379, 10.0.0.2:26380", password="p@ss", sentinel_password="s3")
    assert target.setting == "REDIS_SENTINELS"
    cache = cache_settings(target, key_prefix="cache", timeout_seconds=1)
    assert cache["LOCATION"] == "redis://:p%40ss@tienda/2"
    assert cache["OPTIONS"]["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert cache["OPTIONS"]["CLIENT_CLASS"] == "django_redis.client.DefaultClient"  # reads at the primary too
    assert cache["OPTIONS"]["SENTINELS"] == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]
    assert cache["OPTIONS"]["SENTINEL_KWARGS"]["password"] == "s3"
    host = channel_layer_host(target, max_connections=5)
    assert host["sentinels"] == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]
    assert (host["master_name"], host["db"], host["password"], host["max_connections"]) == ("tienda", 2, "p@ss", 5)
    assert target.describe() == "sentinels 10.0.0.1:26379,10.0.0.2:26380 (primary 'tienda')"


@pytest.mark.parametrize("raw", ["10.0.0.1", "10.0.0.1:26379,", "host:port", "10.0.0.1:70000", ":26379"])
def test_a_sentinel_list_that_does_not_parse_names_the_setting_and_the_entry(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"REDIS_SENTINELS=.* does not parse: .* host:port pairs"):
        parse_sentinels(raw)


def test_sentinels_without_a_master_name_are_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="REDIS_MASTER_NAME is not"):
        sentinel_target("10.0.0.1:26379", master_name="")
