"""Fixtures of the job queue's tests: a real SMTP server and real worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.mailserver import Mailbox, MailServer
from tests.jobs.workers import Workers


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture
def mailbox(smtp: MailServer) -> Mailbox:
    return smtp.mailbox


@pytest.fixture
def workers(transactional_db: None, smtp: MailServer, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path, smtp.port)
    yield started
    started.group.stop_all()
