"""Lua scripts of several modules sent to Redis in one round trip.

A signed-in visitor's cached catalog page reads Redis twice: the shared page (shop/cache.py's
lookup script) and the session with its user's keys (accounts/session_store.py's read script).
Neither read needs the other's answer, so both can travel in one pipeline; the module that holds
both (shop/page_cache.py) asks each owner for its call as a ``ScriptCall`` and hands each answer
back, and neither owner learns of the other.

``call_together`` sends the calls with ``EVALSHA`` in one non-transactional pipeline. redis-py's
own script calls in a pipeline would first ask ``SCRIPT EXISTS`` in a round trip of its own; here a
script that Redis does not hold (a restart, ``SCRIPT FLUSH``) answers ``NOSCRIPT`` and is then
called alone, which loads it. Calls bound for different Redis servers (or databases) are never
mixed: each runs on its own connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import NoScriptError


@dataclass(frozen=True)
class ScriptCall:
    """One script call: on ``connection`` (a redis-py client), ``script`` (from ``register_script``)."""

    connection: Any
    script: Any
    keys: Sequence[str]
    args: Sequence[Any]

    def run_alone(self) -> Any:
        return self.script(keys=list(self.keys), args=list(self.args), client=self.connection)


# The settings of a pool that say where its connections go.
_ADDRESS = ("host", "port", "path", "db", "username")


def _server_of(client: Any) -> tuple[Any, ...]:
    """Where a client's commands go: its pool's address and database, and for a sentinel pool the service and
    the sentinels' addresses."""
    pool = client.connection_pool
    address = tuple(pool.connection_kwargs.get(name) for name in _ADDRESS)
    manager = getattr(pool, "sentinel_manager", None)
    sentinels = (
        tuple(tuple(s.connection_pool.connection_kwargs.get(name) for name in _ADDRESS) for s in manager.sentinels)
        if manager is not None else ()
    )  # fmt: skip
    return type(pool), address, getattr(pool, "service_name", None), sentinels


def same_server(first: Any, second: Any) -> bool:
    """Whether two redis-py clients reach the same server and database."""
    return first.connection_pool is second.connection_pool or _server_of(first) == _server_of(second)


def call_together(calls: Sequence[ScriptCall]) -> list[Any]:
    """The calls' answers, in order; in one round trip when all reach the same server. Redis errors raise."""
    if len(calls) < 2 or not all(same_server(calls[0].connection, call.connection) for call in calls[1:]):
        return [call.run_alone() for call in calls]
    pipe = calls[0].connection.pipeline(transaction=False)
    for call in calls:
        pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
    answers = pipe.execute(raise_on_error=False)
    for index, (call, answer) in enumerate(zip(calls, answers, strict=True)):
        if isinstance(answer, NoScriptError):
            answers[index] = call.run_alone()
        elif isinstance(answer, Exception):
            raise answer
    return answers
