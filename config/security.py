"""Content-Security-Policy on every response (Django 5.2 has no built-in CSP; 6.0 will).

The policy lives in settings (``CONTENT_SECURITY_POLICY``, a directive -> sources mapping) and
``CONTENT_SECURITY_POLICY_EXCEPTIONS`` widens single directives under a path prefix for pages we
do not write ourselves (the Swagger UI). Tienda's own pages, and Django's admin since 4.x, load
scripts and styles from files only, so the default policy allows no inline code at all.
``CONTENT_SECURITY_POLICY_REPORT_ONLY`` (local settings in debug) sends the same policy as
Report-Only: the browser console shows violations, and Django's debug pages, which are inline
styles and scripts, keep working.
https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CSP_HEADER = "Content-Security-Policy"
CSP_REPORT_ONLY_HEADER = "Content-Security-Policy-Report-Only"

Policy = Mapping[str, Sequence[str]]


def policy_header(policy: Policy) -> str:
    """``{"default-src": ["'self'"], ...}`` as a header value: ``default-src 'self'; ...``."""
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


def policies_by_prefix(base: Policy, exceptions: Mapping[str, Policy]) -> list[tuple[str, str]]:
    """(path prefix, header) pairs, longest prefix first, then ("", the base header)."""
    pairs = [(prefix, policy_header({**base, **changes})) for prefix, changes in exceptions.items()]
    pairs.sort(key=lambda pair: len(pair[0]), reverse=True)
    return [*pairs, ("", policy_header(base))]


class ContentSecurityPolicyMiddleware:
    """Adds the Content-Security-Policy (or -Report-Only) header unless a view already set one."""

    sync_capable = True
    async_capable = False  # the chain runs synchronously, one pool thread per request (config/http_handler.py)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.headers = policies_by_prefix(
            settings.CONTENT_SECURITY_POLICY, getattr(settings, "CONTENT_SECURITY_POLICY_EXCEPTIONS", {})
        )
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", False)
        self.header_name = CSP_REPORT_ONLY_HEADER if report_only else CSP_HEADER

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if CSP_HEADER not in response and CSP_REPORT_ONLY_HEADER not in response:
            policy = next(header for prefix, header in self.headers if request.path.startswith(prefix))
            response[self.header_name] = policy
        return response
