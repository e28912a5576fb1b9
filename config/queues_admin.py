"""django-rq's pages in Django admin (queues, workers, scheduled, running, finished and failed
jobs, requeue), for staff only: a signed-in user who is not staff gets 403 on every one of them,
where Django admin would show its login page again; a visitor who is not signed in is sent to
the admin login.

django-rq registers the same pages itself unless ``RQ_SHOW_ADMIN_LINK`` is False (it is, in
config/settings/base.py); this registration differs only in that answer. The admin index links
the dashboard under "Operations" (templates/admin/index.html).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns


def _staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded


@admin.register(Dashboard)
class StaffQueueAdmin(QueueAdmin):
    """django-rq's dashboard: every page staff only, 403 for other signed-in users."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def get_urls(self) -> list[URLPattern]:
        def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            admin_view = self.admin_site.admin_view(view)

            @wraps(view)
            def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
                request.current_app = self.admin_site.name
                return admin_view(request, *args, **kwargs)

            return _staff_only(wrapper)

        pages = get_admin_urlpatterns(name_prefix="django_rq_", view_wrapper=wrap)
        # The JSON statistics (django-rq's token login is not configured) and ModelAdmin's own URLs.
        others = [
            URLPattern(pattern.pattern, _staff_only(pattern.callback), pattern.default_args, pattern.name)
            for pattern in [*get_api_urlpatterns(name_prefix="django_rq_"), *admin.ModelAdmin.get_urls(self)]
        ]
        return pages + others
