"""The worker process: the queues the launcher gives it, and how it stops (config/worker.py)."""

from __future__ import annotations

import signal
import time

import pytest
from rq.job import Job, JobStatus

from common.jobs import QUEUE_DEFAULT, QUEUES, job_enqueue
from devstack.__main__ import JOB_QUEUES, worker_argv
from tests.jobs.workers import Workers


def test_the_launcher_starts_the_worker_on_every_queue_most_urgent_first() -> None:
    assert JOB_QUEUES == QUEUES
    assert worker_argv()[-4:] == [*QUEUES, "--with-scheduler"]


@pytest.mark.parametrize(
    "signals",
    [(signal.SIGTERM,), (signal.SIGINT, signal.SIGTERM)],
    ids=["sigterm (docker compose stop)", "ctrl-c (the terminal's SIGINT, then the launcher's SIGTERM)"],
)
def test_a_stopping_worker_finishes_its_current_job_then_exits(workers: Workers, signals: tuple[int, ...]) -> None:
    worker = workers.start("worker", QUEUE_DEFAULT, scheduler=False)
    job = job_enqueue("time.sleep", queue=QUEUE_DEFAULT, args=(2,))
    assert job is not None
    deadline = time.monotonic() + 20
    while job.get_status(refresh=True) != JobStatus.STARTED:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    for signum in signals:
        worker.popen.send_signal(signum)
        time.sleep(0.2)

    assert worker.popen.wait(15) == 0
    assert Job.fetch(job.id, connection=job.connection).get_status() == JobStatus.FINISHED
    log = workers.log("worker")
    assert "warm shut down requested" in log
    assert "Cold shut down" not in log
    assert log.count("Successfully completed time.sleep(2)") == 1
