"""The signed-in user's API sessions (JWT refresh-token families): see them, end one, or sign out
everywhere (server-rendered pages under /account/sessions/)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.blocklist import BlocklistUnavailable

MESSAGE_ENDED_ONE = _("That session has been ended: its tokens no longer work.")
MESSAGE_ENDED_ALL = _("You have been signed out everywhere, including this browser.")
MESSAGE_NOT_FOUND = _("That session had already ended.")
MESSAGE_UNAVAILABLE = _("Sessions cannot be listed right now. Try again in a moment.")


def _when(milliseconds: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(milliseconds) / 1000, tz=UTC) if milliseconds else None


@login_required
@require_http_methods(["GET", "HEAD"])
def api_sessions(request: HttpRequest) -> HttpResponse:
    """Every live API session of the user: device (user agent), IP, created, last refreshed."""
    try:
        rows = services.api_sessions(user=request.user)
        unavailable = False
    except BlocklistUnavailable:
        rows, unavailable = [], True
    listed = [
        {**row, "created": _when(row.get("created_ms")), "last_used": _when(row.get("last_used_ms"))} for row in rows
    ]
    context = {"api_sessions": listed, "unavailable": unavailable}
    return render(request, "accounts/api_sessions.html", context, status=503 if unavailable else 200)


@login_required
@require_POST
def api_session_end(request: HttpRequest, family: str) -> HttpResponse:
    """End one API session."""
    ended = services.api_session_end(user=request.user, family=family[:64])
    messages.success(request, MESSAGE_ENDED_ONE) if ended else messages.info(request, MESSAGE_NOT_FOUND)
    return redirect("accounts:api_sessions")


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """Sign out everywhere: every token, every site session (this one too), every socket."""
    services.user_sign_out_everywhere(user=request.user)
    messages.success(request, MESSAGE_ENDED_ALL)
    return redirect("accounts:login")
