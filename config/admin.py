"""Admin registrations of the project itself: the job queue's pages (config/queues_admin.py)."""

from __future__ import annotations

from config import queues_admin  # noqa: F401 - registers django-rq's dashboard
