"""Lua scripts of several modules sent to Redis in one round trip.

A signed-in visitor's cached catalog page reads Redis twice: the shared page (shop/cache.py's
lookup script) and the session with its user's keys (accounts/session_store.py's read script).
Neither read needs the other's answer, so both can travel in one pipeline; the module that holds
both (shop/page_cache.py) asks each owner for its call as a ``ScriptCall`` and hands each answer
back, and neither owner learns of the other.

``call_together`` sends the calls with ``EVALSHA`` in one non-transactional pipeline. redis-py's
own script calls in a pipeline would first ask ``SCRIPT EXISTS`` in a round trip of its own; here a
script that Redis does not hold (a restart, ``SCRIPT FLUSH``) answers ``NOSCRIPT`` and is then
called alone, which loads it. Only calls on one connection pool travel together; others run
each on its own connection.
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


def same_pool(first: Any, second: Any) -> bool:
    """Whether two redis-py clients share one connection pool (and so one server and database).

    django-redis keeps one pool per location for the whole process, so the project's cache aliases, all
    configured on one Redis, share theirs. Clients on pools of their own are not batched, even toward the
    same server: nothing is lost but the round trip saved.
    """
    return first.connection_pool is second.connection_pool


def call_together(calls: Sequence[ScriptCall]) -> list[Any]:
    """The calls' answers, in order; in one round trip when all share one connection pool. Redis errors raise."""
    if len(calls) < 2 or not all(same_pool(calls[0].connection, call.connection) for call in calls[1:]):
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
