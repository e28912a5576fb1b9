"""Whether a request comes from a page of this site, judged by what the browser declares.

The two forms that carry no CSRF token use it instead of one: the language switch
(config/views.py) and the logout form (accounts/views.py), so that the pages showing them can be
shared between visitors (docs/decisions/0004-anonymous-page-cache.md,
docs/decisions/0015-logout-without-a-csrf-token.md).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def is_same_origin_request(request: HttpRequest) -> bool:
    """False for a request a browser made on behalf of another site, judged by the headers it sends.

    ``Sec-Fetch-Site`` first (every current browser sends it): only ``same-origin`` and ``none``
    (typed in the address bar) pass. Otherwise ``Origin``, which browsers send on every POST: it
    must be this site or one of ``CSRF_TRUSTED_ORIGINS``. A request with neither header does not
    come from a browser page on another site.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin == f"{request.scheme}://{request.get_host()}" or origin in settings.CSRF_TRUSTED_ORIGINS
