"""Putting jobs on the queue (common/jobs.py) against the tests' real Redis."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django_redis import get_redis_connection
from redis.connection import AbstractConnection
from rq import Queue

from common import jobs

pytestmark = pytest.mark.usefixtures("empty_redis")


def round_trips(monkeypatch: pytest.MonkeyPatch, action: Callable[[], object]) -> int:
    """How many times ``action`` sent something to Redis (one command, or one pipeline, is one send)."""
    sends = []
    send = AbstractConnection.send_packed_command

    def counted(connection: AbstractConnection, command: object, *args: object, **kwargs: object) -> None:
        sends.append(command)
        send(connection, command, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(AbstractConnection, "send_packed_command", counted)
        action()
    return len(sends)


def enqueue(job_id: str | None = None) -> Callable[[], object]:
    return lambda: jobs.job_enqueue("time.sleep", queue=jobs.QUEUE_EMAIL, args=(0,), job_id=job_id)


def test_an_order_email_is_queued_in_one_round_trip_and_its_queue_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "_registered_queues", set())
    round_trips(monkeypatch, enqueue("a"))  # also loads RQ's script and reads the server's version, once
    assert [queue.name for queue in Queue.all(connection=get_redis_connection("default"))] == [jobs.QUEUE_EMAIL]
    assert round_trips(monkeypatch, enqueue("b")) == 1  # the unique enqueue's Lua script, nothing else
    assert jobs.job_enqueue("time.sleep", queue=jobs.QUEUE_EMAIL, args=(0,), job_id="b") is None  # already there
    assert jobs.django_rq.get_queue(jobs.QUEUE_EMAIL).get_job_ids() == ["a", "b"]


def test_a_job_without_an_id_is_one_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    round_trips(monkeypatch, enqueue())
    assert round_trips(monkeypatch, enqueue()) == 1  # RQ's writes in one transaction
    assert len(jobs.django_rq.get_queue(jobs.QUEUE_EMAIL).get_job_ids()) == 2
