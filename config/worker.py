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
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
from typing import Any

from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler
from rq.worker import SimpleWorker

from config.upkeep import upkeep_schedule

_PR_SET_PDEATHSIG = 1
MAINTENANCE_INTERVAL_SECONDS = 60  # RQ's default is 600: registries cleaned, upkeep chain mended


class TiendaScheduler(RQScheduler):
    """RQ's scheduler, in a process that gets SIGTERM when its worker dies (Linux)."""

    def work(self) -> None:
        # Not Linux: it still stops with a worker that exits cleanly.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        super().work()


class TiendaWorker(SimpleWorker):
    """RQ's SimpleWorker that keeps the upkeep scheduled and whose scheduler dies with it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_SECONDS)
        super().__init__(*args, **kwargs)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        upkeep_schedule()
        return super().work(*args, **kwargs)

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        upkeep_schedule()

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
