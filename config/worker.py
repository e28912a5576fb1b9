"""The worker `make run` and the ``worker`` service start: ``manage.py rqworker email default low --with-scheduler``.

RQ's ``SimpleWorker``: jobs run in the worker process itself, not in a fork per job. PyMongo's
client is not fork-safe (django-mongodb-backend's ``connection.close()`` does nothing, so
django-rq cannot drop it before forking), and a fork per job costs more than an e-mail. A job
that runs past its queue's timeout is still stopped (RQ's SIGALRM death penalty).

SIGTERM or Ctrl+C: the worker finishes its current job, then exits (RQ's warm shutdown). The
scheduler process RQ forks beside it dies with it, even when the worker is killed, so no orphan
keeps the scheduler's lock; another worker's scheduler takes the lock over once it expires
(61 s). Each worker also schedules the upkeep's next slots (config/upkeep.py) at start-up and at
each maintenance round.

Redis going away: the worker waits for it. RQ retries its blocking pop with backoff but quits
on a Redis error anywhere else in its loop (the suspension check, maintenance, a job's
bookkeeping, its state, the heartbeat); `TiendaWorker` logs those and goes back to the pop. A job whose
bookkeeping was cut short is recovered by RQ's maintenance (a dequeued job goes back to its
queue, an abandoned one to the failed registry or its retry), and every job decides from the
database what is left to do. The scheduler waits too (RQ's own exits on the first error until
the worker's next maintenance round restarts it), so scheduled jobs move as soon as Redis is back.

The log says each thing once: a job's start (queue, function, arguments, id) and its end (with
its duration, or its traceback), plus what the job itself logs; RQ's extra "Job OK" and
"result is kept" lines are left out, and so is "cleaning registries" at each maintenance round. A
periodic upkeep run is one line, its own (config/upkeep.py: what it did); RQ's start and end lines
of those runs are left out, its errors are not.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import time
from typing import Any

from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.job import Job
from rq.queue import Queue
from rq.scheduler import RQScheduler
from rq.worker import SimpleWorker

from config.upkeep import RUN as UPKEEP_RUN
from config.upkeep import upkeep_schedule

_PR_SET_PDEATHSIG = 1
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
MAINTENANCE_INTERVAL_SECONDS = 60  # RQ's default is 600: registries cleaned, upkeep chain mended
REDIS_RETRY_MAX_SECONDS = 30


class TiendaScheduler(RQScheduler):
    """RQ's scheduler, in a process that gets SIGTERM when its worker dies (Linux), and that waits
    out a Redis outage instead of exiting."""

    def work(self) -> None:
        # Not Linux: it still stops with a worker that exits cleanly.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        wait = 1.0
        while True:
            started = time.monotonic()
            try:
                super().work()
                return
            except REDIS_DOWN as error:
                if self._stop_requested:
                    return
                if time.monotonic() - started > REDIS_RETRY_MAX_SECONDS:
                    wait = 1.0  # it worked for a while: a new outage starts with short waits
                self.log.warning("Scheduler: Redis is not answering (%s); trying again in %.0f s", error, wait)
                time.sleep(wait)
                wait = min(wait * 2, REDIS_RETRY_MAX_SECONDS)


class _OneLineEach(logging.Filter):
    """Drops RQ's "Job OK" line ("Successfully completed ... in ..." already says it), the start
    and end lines of upkeep runs (each run logs one line of its own) and the maintenance rounds'
    "cleaning registries" lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 4 and "Job OK" in str(args[2]):  # coloured on a terminal
            return False
        message = record.getMessage()
        return UPKEEP_RUN not in message and "cleaning registries" not in message  # the latter: every minute


class TiendaWorker(SimpleWorker):
    """RQ's SimpleWorker that keeps the upkeep scheduled, whose scheduler dies with it, and
    whose log says each thing once."""

    log_result_lifespan = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_SECONDS)
        super().__init__(*args, **kwargs)
        if not any(isinstance(existing, _OneLineEach) for existing in self.log.filters):
            self.log.addFilter(_OneLineEach())

    def work(self, *args: Any, **kwargs: Any) -> bool:
        upkeep_schedule()
        return super().work(*args, **kwargs)

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()
        except REDIS_DOWN as error:
            self._redis_down("maintenance", error)
        upkeep_schedule()

    # --- a Redis outage outside the blocking pop: log it and go back to the pop, which waits ----

    def _redis_down(self, during: str, error: Exception) -> None:
        self.log.error("Worker %s: Redis is not answering (%s: %s); waiting for it", self.name, during, error)

    def check_for_suspension(self, burst: bool) -> None:
        try:
            super().check_for_suspension(burst)
        except REDIS_DOWN as error:
            self._redis_down("suspension check", error)

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)
        except REDIS_DOWN as error:
            self._redis_down(f"job {job.id}", error)

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        if pipeline is not None:
            super().set_state(state, pipeline)
            return
        try:
            super().set_state(state)
        except REDIS_DOWN as error:
            self._redis_down("state", error)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        if pipeline is not None:  # queued on the caller's pipeline: no round trip here
            super().heartbeat(timeout, pipeline)
            return
        try:
            super().heartbeat(timeout)
        except REDIS_DOWN as error:
            self._redis_down("heartbeat", error)

    def _start_scheduler(
        self, burst: bool = False, logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT, log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:  # fmt: skip
        # As RQ's own, with TiendaScheduler in place of RQScheduler.
        self.scheduler = TiendaScheduler(
            self.queues, connection=self.connection, logging_level=logging_level or self.log.level,
            date_format=date_format, log_format=log_format,
            serializer=self.serializer,
        )  # fmt: skip
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()
