"""A script creating accounts through the sign-up form over real HTTP (uvicorn): the sixth from one
address within the hour is a 429 page with Retry-After, and creates nothing (accounts/ratelimit.py;
the unit cases, Spanish and the Redis outage are in accounts/tests/test_ratelimit.py)."""

from __future__ import annotations

import re

import httpx
import pytest

from accounts.models import User
from tests.security.helpers import Server

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "plum-harbour-42"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def sign_up(server: Server, email: str) -> httpx.Response:
    """What a bot does: fetch the form (a new session each time), post it back with its token."""
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        token = CSRF_INPUT.search(http.get("/account/signup/").text).group(1)
        body = {"csrfmiddlewaretoken": token, "email": email, "full_name": "Bot", "password1": PASSWORD,
                "password2": PASSWORD}  # fmt: skip
        return http.post("/account/signup/", data=body, headers={"Origin": server.origin})


def test_a_sign_up_script_is_stopped_after_five_accounts(server: Server) -> None:
    created = [sign_up(server, f"bot{number}@example.com").status_code for number in range(5)]
    refused = sign_up(server, "bot5@example.com")

    assert created == [302] * 5
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert refused.headers["content-type"].startswith("text/html")
    assert "Too many accounts were created from your network." in refused.text
    assert User.objects.filter(email__startswith="bot").count() == 5
