"""Real worker processes for the tests (`manage.py rqworker`, as `make run` starts it) on the
tests' own Redis and MongoDB database, sending to the tests' SMTP server."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import django_rq
from django.db import connection
from rq import SimpleWorker

from common.jobs import QUEUES
from devstack.__main__ import worker_argv
from devstack.processes import ManagedProcess, ProcessGroup
from devstack.testing import wait_for_worker

ROOT = Path(__file__).resolve().parents[2]


def worker_env(*, mail_port: int, **overrides: str) -> dict[str, str]:
    """The environment of a worker: the tests' servers and the database the test is using."""
    uri = urlsplit(os.environ["MONGODB_URI"])
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        MONGODB_URI=urlunsplit(uri._replace(path="/" + connection.settings_dict["NAME"])),
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(mail_port),
        EMAIL_USE_TLS="0",
        EMAIL_TIMEOUT_SECONDS="5",
        SITE_URL="http://shop.test",
    )
    env.update(overrides)
    return env


@dataclass
class Workers:
    """Workers started by a test, stopped (SIGTERM, then SIGKILL) when it ends."""

    log_dir: Path
    mail_port: int
    group: ProcessGroup = field(default_factory=ProcessGroup)

    def start(self, name: str, *queues: str, scheduler: bool = True, **env: str) -> ManagedProcess:
        """A worker on ``queues`` (all by default); returns once it listens."""
        process = self.group.spawn(
            name, worker_argv(*queues, scheduler=scheduler), env=worker_env(mail_port=self.mail_port, **env),
            cwd=ROOT, log_path=self.log_dir / f"{name}.log",
        )  # fmt: skip
        wait_for_worker(process)
        return process

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()

    @staticmethod
    def kill(process: ManagedProcess) -> None:
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(10)


def jobs_run(*queues: str) -> None:
    """Run every job queued on ``queues`` (all by default) in this process, as a worker in burst mode would."""
    worker = django_rq.get_worker(*(queues or QUEUES), worker_class=SimpleWorker)
    worker.work(burst=True)
