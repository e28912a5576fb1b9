"""The application the end-to-end journeys talk to (tests/e2e/conftest.py starts it) and the demo
accounts it was seeded with."""

from __future__ import annotations

from dataclasses import dataclass

from devstack.testing import RunningStack

DEMO_PASSWORD = "e2e-demo-password-1"  # a throwaway server's demo accounts
ADMIN_EMAIL = "admin@example.com"
SHOPPER_EMAIL = "shopper@example.com"


@dataclass(frozen=True)
class App:
    stack: RunningStack
    admin_email: str = ADMIN_EMAIL
    shopper_email: str = SHOPPER_EMAIL
    password: str = DEMO_PASSWORD

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    @property
    def ws_url(self) -> str:
        return self.stack.ws_url
