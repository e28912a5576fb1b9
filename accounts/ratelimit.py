"""Counters in Redis that slow down password guessing, reset mail bombing and bulk sign-ups.

Every door that checks a password counts here, against the same keys: the site login
(accounts/views.py), Django admin's login (accounts/admin_site.py) and POST /api/auth/token/
(accounts/api.py).

Keys (this module is their only writer; README "Redis key schema"):

- ``rl:login:ip:<ip>`` — failed logins from one client address.
- ``rl:login:account:<sha256(email)[:32]>`` — failed logins for one e-mail address, whether
  or not an account has it (so the counter says nothing about which addresses exist). Hashed so
  the key space holds no personal data.
- ``rl:reset:ip:<ip>`` — password-reset requests from one client address. Separate from the login
  counter: a shopper who forgot their password and failed to log in a few times must still be
  able to ask for a reset mail, and asking for one is not a failed login.
- ``rl:signup:ip:<ip>`` — accounts created from one client address (accounts/views.py, the only
  sign-up door: there is no API sign-up endpoint). Only created accounts count: a form sent back
  with errors created nothing.

Each counter is an INCR plus an EXPIRE of its window (``LOGIN_FAILURE_WINDOW_SECONDS``;
``SIGNUP_WINDOW_SECONDS`` for sign-ups, in one Lua script that also compares with the limit), so
every key has a TTL and the window restarts at each counted attempt: a lockout lasts one window
after the last counted attempt.
Attempts refused during a lockout are not counted (and their password is never checked), so
waiting out the window always works.

Every Redis error fails open (the attempt is allowed, a warning is logged). The limiter is a
brake on online guessing on top of slow password hashes, not an access check: failing closed
would turn a Redis outage into "nobody can log in or recover their account", while failing
open only removes the brake for the length of the outage. The sign-up limit fails open for
the same reason: closed, a Redis outage would turn away every new customer at checkout, while
open it lets a script create accounts for as long as the outage lasts, accounts that are as
unprivileged as any shopper's and that staff can block. (The JWT blocklist makes the opposite
choice because there a silent failure would let revoked tokens in.)
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import ngettext_lazy
from django_redis import get_redis_connection
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

LOGIN_IP_PREFIX = "rl:login:ip"
LOGIN_ACCOUNT_PREFIX = "rl:login:account"
RESET_IP_PREFIX = "rl:reset:ip"
SIGNUP_IP_PREFIX = "rl:signup:ip"
ACCOUNT_DIGEST_CHARS = 32

# What every login door (site, admin, API) answers while login_retry_after says wait.
LOGIN_LOCKED_OUT = ngettext_lazy(
    "Too many failed attempts. Try again in %(minutes)d minute.",
    "Too many failed attempts. Try again in %(minutes)d minutes.",
    "minutes",
)


def _redis() -> Any:
    return get_redis_connection("default")


def login_ip_key(ip: str) -> str:
    return f"{LOGIN_IP_PREFIX}:{ip}"


def login_account_key(email: str) -> str:
    """The counter key of an e-mail address as typed; case and surrounding spaces do not matter."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:ACCOUNT_DIGEST_CHARS]
    return f"{LOGIN_ACCOUNT_PREFIX}:{digest}"


def reset_ip_key(ip: str) -> str:
    return f"{RESET_IP_PREFIX}:{ip}"


def signup_ip_key(ip: str) -> str:
    return f"{SIGNUP_IP_PREFIX}:{ip}"


def client_ip(request: HttpRequest) -> str:
    """The address the limits count against."""
    # REMOTE_ADDR only: X-Forwarded-For is written by the client unless a trusted proxy rewrites
    # it, so honouring it here would let anyone pick a fresh "IP" per attempt. Behind a proxy,
    # the ASGI server sets REMOTE_ADDR from it (uvicorn --proxy-headers with
    # --forwarded-allow-ips naming that proxy, as in the Dockerfile).
    return request.META.get("REMOTE_ADDR") or "unknown"


def _window() -> int:
    return settings.LOGIN_FAILURE_WINDOW_SECONDS


def _retry_after(limits: dict[str, int], *, window: int | None = None) -> int:
    """Seconds until every counter in ``limits`` (key -> limit) is under its limit; 0 means go ahead."""
    try:
        pipe = _redis().pipeline(transaction=False)
        for key in limits:
            pipe.get(key)
            pipe.ttl(key)
        replies = pipe.execute()
    except RedisError as error:
        logger.warning("rate limit check skipped (Redis unavailable, failing open): %s", error)
        return 0
    wait = 0
    for limit, count, ttl in zip(limits.values(), replies[0::2], replies[1::2], strict=True):
        if count is not None and int(count) >= limit:
            # A key without a TTL cannot exist (_count always sets one); count a full window if it does.
            wait = max(wait, ttl if ttl > 0 else window or _window())
    return wait


def _count(keys: list[str]) -> None:
    """Add one to each counter and (re)start its window."""
    try:
        pipe = _redis().pipeline(transaction=True)
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, _window())
        pipe.execute()
    except RedisError as error:
        logger.warning("rate limit counter not updated (Redis unavailable, failing open): %s", error)


def login_retry_after(*, ip: str, email: str) -> int:
    """Seconds this login must wait because the address or the account hit its failure limit; 0 if none."""
    return _retry_after(
        {
            login_ip_key(ip): settings.LOGIN_FAILURES_PER_IP,
            login_account_key(email): settings.LOGIN_FAILURES_PER_ACCOUNT,
        }
    )


def login_failure_record(*, ip: str, email: str) -> None:
    """Count a failed login against the client address and the e-mail address typed."""
    _count([login_ip_key(ip), login_account_key(email)])


def login_failures_clear(*, email: str) -> None:
    """Forget an account's failures (after a successful login or password reset); the IP's stay."""
    try:
        _redis().delete(login_account_key(email))
    except RedisError as error:
        logger.warning("could not clear login failures (Redis unavailable): %s", error)


def password_reset_retry_after(*, ip: str) -> int:
    """Seconds this client must wait before asking for another reset mail; 0 if it may ask now."""
    return _retry_after({reset_ip_key(ip): settings.LOGIN_FAILURES_PER_IP})


def password_reset_request_record(*, ip: str) -> None:
    """Count a password-reset request (sent or not: the page never says) against the client address."""
    _count([reset_ip_key(ip)])


def signup_retry_after(*, ip: str) -> int:
    """Seconds this client must wait before creating another account; 0 if it may now."""
    window = settings.SIGNUP_WINDOW_SECONDS
    return _retry_after({signup_ip_key(ip): settings.SIGNUPS_PER_IP}, window=window)


# INCR and compare in one step, so concurrent sign-ups cannot all pass a check made at limit - 1.
# Over the limit: undo the INCR (refusals are not counted) and return the seconds left.
_SIGNUP_TAKE = """
local count = redis.call('INCR', KEYS[1])
if count > tonumber(ARGV[1]) then
    redis.call('DECR', KEYS[1])
    local ttl = redis.call('TTL', KEYS[1])
    if ttl > 0 then return ttl end
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    return tonumber(ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 0
"""


def signup_take(*, ip: str) -> int:
    """Count an account about to be created from the client address: 0 if it may be, else the
    seconds to wait (and nothing is counted). A sign-up that then loses a race for its e-mail
    address still counts."""
    window = settings.SIGNUP_WINDOW_SECONDS
    try:
        return int(_redis().eval(_SIGNUP_TAKE, 1, signup_ip_key(ip), settings.SIGNUPS_PER_IP, window))
    except RedisError as error:
        logger.warning("sign-up limit skipped (Redis unavailable, failing open): %s", error)
        return 0


def minutes_to_wait(seconds: int) -> int:
    """``seconds`` rounded up to whole minutes, at least one, for messages."""
    return max(1, math.ceil(seconds / 60))
