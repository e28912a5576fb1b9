"""``/staff/analytics/``: the live dashboard (tables without JavaScript; charts and live updates with it)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from analytics.queries import parse_day
from analytics.selectors import analytics_snapshot
from common.api.queries import InvalidQuery

STAFF_ONLY = "The analytics dashboard is for staff."
LIVE_PATH = "/ws/staff/analytics/"  # analytics/routing.py


@never_cache
@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """Today's figures (or ``?day=``'s), live when the day is today."""
    if not request.user.is_staff:
        raise PermissionDenied(STAFF_ONLY)
    error = ""
    try:
        day = parse_day(request.GET.get("day"))
    except InvalidQuery as invalid:
        error, day = invalid.errors["day"], None
    snapshot = analytics_snapshot(day=day)
    context = {
        "snapshot": snapshot,
        "error": error,
        "live_url": LIVE_PATH if not request.GET.get("day") else "",
        # Newest first, as tables for pages without JavaScript (the charts draw the same rows).
        "history": [
            (snapshot["per_minute"][::-1], _("Per minute, last 2 hours (table)")),
            (snapshot["per_hour"][::-1], _("Per hour, last 7 days (table)")),
        ],
    }
    return render(request, "analytics/dashboard.html", context, status=400 if error else 200)
