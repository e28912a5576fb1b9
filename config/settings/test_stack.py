"""The whole stacks the test suite starts (tests/e2e, tests/faults): `make run`'s settings, cheap hashing.

Everything is local.py's (DEBUG off unless DJANGO_DEBUG=1, the strict Content-Security-Policy, the
same apps and middleware) except the password hasher, which is the one the in-process tests use
(test.py). Django's PBKDF2 at 1,000,000 iterations costs 0.24 to 0.6 s of CPU a hash on these
machines, and these stacks hash a password for every demo account they create, every login and
every failed login their fuzzing sends: 48 hashes a run, checking nothing of Tienda's
(docs/decisions/0010-test-suite-speed.md).
Only devstack.testing's TEST_STACK_SETTINGS names this module; `make run`, the benchmarks, the
launcher's own tests and the Docker image keep Django's hasher.
"""

from __future__ import annotations

from config.settings.local import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
