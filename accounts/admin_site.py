"""Django admin's site, with the site login's failure limits on its login form.

Without this, /admin/login/ was a door around accounts/ratelimit.py: unlimited password guesses
against staff accounts, the most valuable ones. Failures count against the same per-account and
per-address counters as the site login and the API token endpoint.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.forms.forms import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse

from accounts import ratelimit

REJECTED_CODES = ("invalid_login", "inactive")


class TiendaAdminSite(admin.AdminSite):
    """The default admin site (config/apps.py) with a throttled login."""

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Django's admin login; 429 without checking the password while the account or address is locked."""
        if request.method != "POST":
            return super().login(request, extra_context)
        email, ip = request.POST.get("username", ""), ratelimit.client_ip(request)
        wait = ratelimit.login_retry_after(ip=ip, email=email)
        if wait:
            messages.error(request, ratelimit.LOGIN_LOCKED_OUT % {"minutes": ratelimit.minutes_to_wait(wait)})
            # Show the login page as a GET would: an unbound form, so authenticate() never runs.
            request.method = "GET"
            response = super().login(request, extra_context)
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
        response = super().login(request, extra_context)
        form = getattr(response, "context_data", {}).get("form")
        if response.status_code == 302:
            ratelimit.login_failures_clear(email=email)
        elif form is not None and any(form.has_error(NON_FIELD_ERRORS, code) for code in REJECTED_CODES):
            ratelimit.login_failure_record(ip=ip, email=email)
        return response
