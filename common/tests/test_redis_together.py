"""common/redis_together.py: script calls of several modules in one round trip, against the tests' Redis."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django_redis import get_redis_connection
from redis.exceptions import ResponseError

from common.redis_together import ScriptCall, call_together, same_pool
from common.tests.helpers import redis_round_trips

ECHO = "return {KEYS[1], ARGV[1]}"


@pytest.fixture
def connection() -> Any:
    client = get_redis_connection("default")
    client.script_flush()
    return client


def echo(connection: Any, key: str, arg: str) -> ScriptCall:
    return ScriptCall(connection, connection.register_script(ECHO), [key], [arg])


def test_calls_to_one_server_travel_in_one_round_trip(connection: Any) -> None:
    calls = [echo(connection, "a", "1"), echo(get_redis_connection("sessions"), "b", "2")]
    call_together(calls)  # loads the script (NOSCRIPT, then each call alone)
    with redis_round_trips() as sent:
        answers = call_together(calls)
    assert answers == [[b"a", b"1"], [b"b", b"2"]]
    assert len(sent) == 1


def test_a_script_redis_does_not_hold_is_loaded_and_answered(connection: Any) -> None:
    calls = [echo(connection, "a", "1"), echo(connection, "b", "2")]
    assert call_together(calls) == [[b"a", b"1"], [b"b", b"2"]]
    connection.script_flush()  # as after a Redis restart
    assert call_together(calls) == [[b"a", b"1"], [b"b", b"2"]]


def test_calls_to_another_database_are_sent_on_their_own_connection(connection: Any) -> None:
    kwargs = connection.connection_pool.connection_kwargs
    other = redis.Redis(host=kwargs["host"], port=kwargs["port"], db=kwargs["db"] + 1)
    connection.set("together:key", "db0")
    other.set("together:key", "db1")
    try:
        read = "return redis.call('GET', KEYS[1])"
        calls = [
            ScriptCall(client, client.register_script(read), ["together:key"], []) for client in (connection, other)
        ]
        assert not same_pool(connection, other)
        with redis_round_trips() as sent:
            assert call_together(calls) == [b"db0", b"db1"]
        assert len(sent) >= 2
    finally:
        connection.delete("together:key")
        other.delete("together:key")
        other.close()


def test_a_script_that_fails_raises(connection: Any) -> None:
    failing = ScriptCall(connection, connection.register_script("return redis.error_reply('broken')"), [], [])
    for _ in range(2):  # Redis does not hold the script yet, then it does
        with pytest.raises(ResponseError, match="broken"):
            call_together([echo(connection, "a", "1"), failing])
