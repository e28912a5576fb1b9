"""The job queue's pages in Django admin (config/queues_admin.py): staff see them, nobody else does."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from common.jobs import job_enqueue

QUEUE = 0  # the first queue in django-rq's (sorted) list
PAGES = [
    ("django_rq_home", ()),
    ("django_rq_home_json", ()),
    ("django_rq_jobs", (QUEUE,)),
    ("django_rq_queue_details", (QUEUE,)),
    ("django_rq_finished_jobs", (QUEUE,)),
    ("django_rq_failed_jobs", (QUEUE,)),
    ("django_rq_scheduled_jobs", (QUEUE,)),
    ("django_rq_started_jobs", (QUEUE,)),
    ("django_rq_deferred_jobs", (QUEUE,)),
    ("django_rq_workers", (QUEUE,)),
    ("django_rq_requeue_all", (QUEUE,)),
    ("django_rq_delete_failed_jobs", (QUEUE,)),
    ("django_rq_clear", (QUEUE,)),
    ("django_rq_job_detail", (QUEUE, "some-job")),
    ("django_rq_requeue_job", (QUEUE, "some-job")),
    ("django_rq_delete_job", (QUEUE, "some-job")),
    ("django_rq_confirm_action", (QUEUE,)),
    ("django_rq_actions", (QUEUE,)),
    ("django_rq_scheduler_jobs", (QUEUE,)),
]


@pytest.fixture
def shopper(db: None) -> User:
    return User.objects.create_user("ana@example.com", "x")


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("staff@example.com", "x", is_staff=True)


@pytest.mark.parametrize(("name", "args"), PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_signed_in_shopper_gets_403_from_every_queue_page(shopper: User, name: str, args: tuple, method: str) -> None:
    client = Client()
    client.force_login(shopper)
    response = getattr(client, method)(reverse(f"admin:{name}", args=args))
    assert response.status_code == 403


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_a_visitor_is_sent_to_the_admin_login(db: None, name: str, args: tuple) -> None:
    response = Client().get(reverse(f"admin:{name}", args=args))
    if name == "django_rq_home_json":  # django-rq's JSON answers 401 without its (unconfigured) token
        assert response.status_code == 401
        assert "queues" not in response.json()
        return
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_see_the_queues_and_the_admin_index_links_them(staff: User) -> None:
    job_enqueue("orders.jobs.stock_settle", queue="low", job_id="visible-job")
    client = Client()
    client.force_login(staff)
    index = client.get("/admin/")
    assert reverse("admin:django_rq_home") in index.text
    dashboard = client.get(reverse("admin:django_rq_home"))
    assert dashboard.status_code == 200
    assert "email" in dashboard.text
    assert "low" in dashboard.text
    low = sorted(["default", "email", "low"]).index("low")
    jobs = client.get(reverse("admin:django_rq_jobs", args=(low,)))
    assert "visible-job" in jobs.text


def test_staff_can_requeue_a_failed_job(staff: User) -> None:
    import django_rq
    from rq import SimpleWorker

    job = job_enqueue("orders.jobs.no_such_job", queue="email", job_id="bad-job")  # fails: no such function
    assert job is not None
    django_rq.get_worker("email", worker_class=SimpleWorker).work(burst=True)
    assert job.get_status(refresh=True) == "failed"
    client = Client()
    client.force_login(staff)
    email = sorted(["default", "email", "low"]).index("email")
    page = client.get(reverse("admin:django_rq_failed_jobs", args=(email,)))
    assert "bad-job" in page.text
    response = client.post(reverse("admin:django_rq_requeue_job", args=(email, "bad-job")), {"requeue": "Requeue"})
    assert response.status_code == 302
    assert job.get_status(refresh=True) == "queued"
