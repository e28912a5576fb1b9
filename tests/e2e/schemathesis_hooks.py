"""Schemathesis hooks for tests/e2e/test_api_fuzzing.py (loaded by the CLI through SCHEMATHESIS_HOOKS).

- Authentication: the role's token pair comes from the test (it logs in before any fuzzing, since
  fuzzing the login endpoint uses up its per-IP rate limit). Every few minutes the pair is rotated
  through `POST /api/auth/token/refresh/`, so a long run never fuzzes with an expired access token.
- Created data: the id of every product or order the run creates is appended to a file, so the
  test can delete or cancel it afterwards.

Environment: TIENDA_FUZZ_BASE_URL, TIENDA_FUZZ_ACCESS, TIENDA_FUZZ_REFRESH, TIENDA_FUZZ_CREATED.
"""

from __future__ import annotations

import json
import os
import threading

import httpx
import schemathesis

REFRESH_EVERY_S = 240  # access tokens live 5 minutes
CREATED_PATHS = ("/api/products/", "/api/orders/")


@schemathesis.auth(refresh_interval=REFRESH_EVERY_S, retry_on=[])
class RotatingBearer:
    """The role's access token; the first from the test, then one from each refresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._access: str | None = os.environ["TIENDA_FUZZ_ACCESS"]
        self._refresh = os.environ["TIENDA_FUZZ_REFRESH"]

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        with self._lock:
            if self._access is not None:  # the first call: the pair the test obtained
                access, self._access = self._access, None
                return access
            response = httpx.post(
                f"{os.environ['TIENDA_FUZZ_BASE_URL']}/api/auth/token/refresh/",
                json={"refresh": self._refresh},
                timeout=30,
            )
            response.raise_for_status()
            pair = response.json()
            self._refresh = pair["refresh"]
            return pair["access"]

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def after_call(context: schemathesis.HookContext, case: schemathesis.Case, response: schemathesis.Response) -> None:
    """Note what the run created, for the test to undo."""
    if response.status_code != 201 or case.method.upper() != "POST" or case.path not in CREATED_PATHS:
        return
    created = {"path": case.path, "id": json.loads(response.content)["id"]}
    with open(os.environ["TIENDA_FUZZ_CREATED"], "a") as log:
        log.write(json.dumps(created) + "\n")
