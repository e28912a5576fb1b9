"""Container health probe: exit 0 only if GET /healthz answers 200.

Used by the Dockerfile HEALTHCHECK and docker-compose.yml. The slim image has
no curl, hence urllib. Standard library only: it must not import Django.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    # Production settings reject Host headers outside DJANGO_ALLOWED_HOSTS, so
    # probe as the first allowed host ("*" / ".example.com" need a concrete name).
    first_host = os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")[0].strip()
    host = first_host.lstrip("*.") or "localhost"
    request = urllib.request.Request(
        f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz",
        # Production redirects plain HTTP to HTTPS; TLS normally ends at a proxy
        # that sets this header (SECURE_PROXY_SSL_HEADER), so say we came through it.
        headers={"Host": host, "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 - fixed local URL
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"healthcheck failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
