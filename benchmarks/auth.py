"""Cost of the Redis token blocklist, and how fast a ban takes effect.

Part 1 (in-process, one run): the same authenticated DRF view behind plain simplejwt
(`JWTAuthentication`, the user loaded from MongoDB) and behind Tienda's
(`TiendaJWTAuthentication`: one MGET reads the blocklist and the user's card), interleaved;
prints p50/p99 per request, the added latency and the Redis commands each request sent (read
from Redis's MONITOR stream in a separate pass, counting only this process's connections: the
job worker and other clients of the same server are not counted).

Part 2 (over HTTP, against `make run`'s server): a shopper holds a token; the demo admin
blocks them with the Django admin action; the benchmark then counts the requests until the
first 401 (target: the very next one) and the time since the admin's POST returned. The
shopper is unblocked afterwards.

    make run   # in another terminal (or DJANGO_DEBUG=0 make run)
    .venv/bin/python benchmarks/auth.py [--url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def in_process(requests: int) -> dict[str, float]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django_redis import get_redis_connection
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts import services
    from accounts.authentication import TiendaJWTAuthentication

    class PlainJWTAuthentication(JWTAuthentication):
        """simplejwt as shipped: its own AccessToken class, no blocklist."""

        def get_validated_token(self, raw_token: bytes) -> AccessToken:
            return AccessToken(raw_token)

    class PlainView(APIView):
        authentication_classes = [PlainJWTAuthentication]
        permission_classes = [IsAuthenticated]

        def get(self, request):
            return Response({"user": request.user.email})

    class BlocklistView(PlainView):
        authentication_classes = [TiendaJWTAuthentication]

    user = get_user_model().objects.get(email="shopper@example.com")
    access = services.token_pair_issue(user=user, user_agent="benchmarks/auth.py")["access"]
    factory = APIRequestFactory()
    views = {"plain simplejwt": PlainView.as_view(), "simplejwt + Redis blocklist": BlocklistView.as_view()}
    timings: dict[str, list[float]] = {name: [] for name in views}
    redis = get_redis_connection("default")
    for _ in range(50):  # warm-up
        for view in views.values():
            view(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {access}"))
    names = list(views)
    for i in range(requests):
        # Alternate which goes first, so neither always runs on a warmer cache.
        for name in names if i % 2 == 0 else reversed(names):
            request = factory.get("/", HTTP_AUTHORIZATION=f"Bearer {access}")
            started = time.perf_counter()
            response = views[name](request)
            timings[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.data

    def call(name: str) -> Callable[[], object]:
        return lambda: views[name](factory.get("/", HTTP_AUTHORIZATION=f"Bearer {access}"))

    commands = {name: commands_sent(redis, call(name), times=200) for name in names}
    mget = []
    for _ in range(requests):
        started = time.perf_counter()
        redis.mget(["jwt:revoked:x", "jwt:cutoff:y", "jwt:family-ended:z"])
        mget.append((time.perf_counter() - started) * 1000)
    print(f"\n## Authenticated request, in-process, {requests} requests each (interleaved)\n")
    print("| authentication | p50 ms | p99 ms | Redis commands per request |")
    print("| --- | --- | --- | --- |")
    for name, values in timings.items():
        per_request = f"{commands[name]:.2f}"
        print(f"| {name} | {statistics.median(values):.3f} | {percentile(values, 99):.3f} | {per_request} |")
    plain, checked = timings[names[0]], timings[names[1]]
    added = statistics.median(b - a for a, b in zip(plain, checked, strict=True))
    share = added / statistics.median(plain) * 100
    print(f"\nadded latency (median of paired differences): {added:.3f} ms = {share:.1f} % (target < 10 %)")
    print(f"the blocklist MGET alone: p50 {statistics.median(mget):.3f} ms, p99 {percentile(mget, 99):.3f} ms")
    print("(both verify the signature; plain simplejwt loads the user from MongoDB, Tienda's reads the blocklist and")
    print(" the user's card in one MGET: accounts/tokens.py)")
    return {
        "requests": requests,
        "plain_p50_ms": statistics.median(plain),
        "plain_p99_ms": percentile(plain, 99),
        "blocklist_p50_ms": statistics.median(checked),
        "blocklist_p99_ms": percentile(checked, 99),
        "added_ms": added,
        "added_percent": share,
        "redis_commands_per_request": commands[names[1]],
        "plain_redis_commands_per_request": commands[names[0]],
        "mget_p50_ms": statistics.median(mget),
    }


def commands_sent(redis, action: Callable[[], object], *, times: int) -> float:
    """Redis commands per call of `action` sent over `redis`'s pool, read from MONITOR.

    Only lines from this pool's own sockets count, so other clients of the server (the job
    worker's polling, another app process) do not inflate the figure. An ECHO with a unique
    marker, sent once the calls are done, ends the reading.
    """
    marker = f"benchmarks-auth-{time.monotonic_ns()}"
    seen: list[tuple[str, str]] = []
    ready = threading.Event()

    def read() -> None:
        with redis.monitor() as monitor:
            ready.set()
            for line in monitor.listen():
                if marker in line["command"]:
                    return
                seen.append((line["client_address"], str(line["client_port"])))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    ready.wait(5)
    time.sleep(0.2)  # MONITOR is acknowledged before the reader loops; let it settle
    for _ in range(times):
        action()
    redis.echo(marker)
    reader.join(30)
    pool = redis.connection_pool
    ours = {
        tuple(str(part) for part in conn._sock.getsockname()[:2])
        for conn in [*pool._available_connections, *pool._in_use_connections]
        if conn._sock is not None
    }
    return sum(1 for address in seen if address in ours) / times


def ban_to_rejection(base: str, password: str) -> dict[str, float]:
    with (
        httpx.Client(base_url=base, timeout=30, follow_redirects=False) as shopper,
        httpx.Client(base_url=base, timeout=30, follow_redirects=False) as admin,
    ):
        pair = shopper.post("/api/auth/token/", json={"email": "shopper@example.com", "password": password}).json()
        headers = {"Authorization": f"Bearer {pair['access']}"}
        assert shopper.get("/api/auth/sessions/", headers=headers).status_code == 200
        page = admin.get("/admin/login/")
        token = admin.cookies["csrftoken"]
        admin.post("/admin/login/", data={"username": "admin@example.com", "password": password,
                                          "csrfmiddlewaretoken": token, "next": "/admin/"})  # fmt: skip
        listing = admin.get("/admin/accounts/user/?q=shopper%40example.com")
        user_id = re.search(r'name="_selected_action" value="([0-9a-f]{24})"', listing.text).group(1)
        csrf = admin.cookies["csrftoken"]
        form = {"action": "block_users", "_selected_action": user_id, "csrfmiddlewaretoken": csrf}
        started = time.perf_counter()
        blocked = admin.post("/admin/accounts/user/", data=form, headers={"Referer": f"{base}/admin/"})
        returned = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            status = shopper.get("/api/auth/sessions/", headers=headers).status_code
            if status == 401 or attempts >= 20:
                break
        rejected = time.perf_counter()
        form["action"] = "unblock_users"
        admin.post("/admin/accounts/user/", data=form, headers={"Referer": f"{base}/admin/"})
        del page
    print("\n## Ban in Django admin -> first rejected API request (over HTTP)\n")
    print(f"admin action answered {blocked.status_code} in {(returned - started) * 1000:.1f} ms")
    print(f"first rejected request: #{attempts} after the ban (target: #1), status {status}, "
          f"{(rejected - returned) * 1000:.1f} ms after the admin's POST returned")  # fmt: skip
    return {"first_rejected_request": attempts, "status": status, "ms_after_ban": (rejected - returned) * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "tienda-demo"))
    parser.add_argument("--skip-http", action="store_true", help="only the in-process comparison")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    import logging

    figures = {"in_process": in_process(args.requests)}
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not args.skip_http:
        figures["ban"] = ban_to_rejection(args.url.rstrip("/"), args.password)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
