"""Putting work on the job queue (django-rq on RQ; docs/decisions/0007-job-queue.md).

Queues by urgency: ``email`` (a person is waiting for it), ``default``, ``low`` (upkeep).
Jobs take ids, not objects, and are idempotent: a job may run twice (a retry, a duplicate,
a worker killed halfway), so each one decides from the database what is left to do.

Enqueueing happens after the write it follows is stored. django-mongodb-backend runs
``transaction.on_commit`` callbacks at once outside its own ``atomic()`` (every write in
Tienda is one acknowledged single-document update, so it is stored when the call returns),
and defers them to the commit inside one; `enqueue_after_commit` goes through it, so code that
one day wraps a service in a transaction still enqueues only what was committed.

A Redis outage never fails the request that enqueues: the error is logged and the job is left
to the reconciliation that finds work never queued (orders/notifications.py).

An enqueue is one Redis round trip: RQ also adds the queue to its set of queues (``rq:queues``,
read by ``Queue.all()`` and the ``rq`` command line, not by the workers or the admin pages) on
every enqueue, a round trip of its own for a unique job; `job_enqueue` sends that once per
process and queue.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import django_rq
from django.conf import settings
from django.db import transaction
from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, get_current_job

logger = logging.getLogger(__name__)

QUEUE_EMAIL = "email"
QUEUE_DEFAULT = "default"
QUEUE_LOW = "low"
QUEUES = (QUEUE_EMAIL, QUEUE_DEFAULT, QUEUE_LOW)  # the order a worker takes them in: most urgent first


def email_retry() -> Retry:
    """Retries with growing delays (EMAIL_RETRY_DELAYS) for a job that sends e-mail."""
    delays: Sequence[int] = settings.EMAIL_RETRY_DELAYS
    return Retry(max=len(delays), interval=list(delays))


_registered_queues: set[str] = set()  # keys of the queues this process has added to ``rq:queues``


def _only_registration(pipe: Pipeline, queue: Queue) -> bool:
    """True when all RQ left in ``pipe`` is adding ``queue`` to its set of queues."""
    return [tuple(args) for args, _options in pipe.command_stack] == [("SADD", queue.redis_queues_keys, queue.key)]


def job_enqueue(
    func: str, *, queue: str, args: Sequence[Any] = (), job_id: str | None = None, retry: Retry | None = None
) -> Job | None:
    """Put ``func`` (a dotted path) on ``queue`` now; None when Redis failed or ``job_id`` is already there.

    With ``job_id`` the enqueue is unique: a job of that id that is queued, scheduled, running,
    failed or finished (until its result expires) is not queued again (one Lua script). Without,
    RQ's writes go in one transaction.
    """
    try:
        rq_queue = django_rq.get_queue(queue)
        with rq_queue.connection.pipeline() as pipe:
            job = rq_queue.enqueue_call(
                func, args=tuple(args), job_id=job_id, unique=job_id is not None, retry=retry, pipeline=pipe
            )
            if not (_only_registration(pipe, rq_queue) and rq_queue.key in _registered_queues):
                pipe.execute()
                _registered_queues.add(rq_queue.key)
        return job
    except DuplicateJobError:
        return None
    except RedisError as error:
        logger.warning("could not queue %s%s on %s: %r", func, tuple(args), queue, error)
        return None


def enqueue_after_commit(
    func: str, *, queue: str, args: Sequence[Any] = (), job_id: str | None = None, retry: Retry | None = None
) -> None:
    """`job_enqueue` once the surrounding transaction, if any, has committed (at once otherwise)."""
    transaction.on_commit(lambda: job_enqueue(func, queue=queue, args=args, job_id=job_id, retry=retry))


def job_stop_retrying() -> None:
    """Let the running job fail for good: RQ moves it to the failed registry instead of retrying it."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0
