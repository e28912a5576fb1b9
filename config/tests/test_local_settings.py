"""`make run`'s settings (config/settings/local.py): a production-like demo unless DJANGO_DEBUG=1,
and a server log that prints each record once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import logging; from django.conf import settings; "
    "print(settings.DEBUG, settings.CONTENT_SECURITY_POLICY_REPORT_ONLY); "
    "logging.getLogger('django.request').warning('Not Found: /probe'); "
    "logging.getLogger('shop.cache').warning('probe from the project')"
)


def local_shell(**env_changes: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_DEBUG"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", **env_changes)
    command = [sys.executable, "manage.py", "shell", "-v", "0", "-c", PROBE]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)


def test_make_run_serves_without_debug_and_enforces_the_content_security_policy() -> None:
    assert local_shell().stdout.split() == ["False", "False"]


def test_debug_pages_are_one_variable_away_with_the_policy_report_only() -> None:
    assert local_shell(DJANGO_DEBUG="1").stdout.split() == ["True", "True"]


@pytest.mark.parametrize("debug", ["0", "1"])
def test_every_warning_is_printed_once(debug: str) -> None:
    log = local_shell(DJANGO_DEBUG=debug).stderr
    assert log.count("Not Found: /probe") == 1, log
    assert log.count("probe from the project") == 1, log


def test_the_test_suites_stacks_differ_from_make_run_only_in_the_password_hasher() -> None:
    """config/settings/test_stack.py, which tests/e2e and tests/faults run on, changes nothing else."""
    compare = (
        "import config.settings.local as local, config.settings.test_stack as stack; "
        "from django.conf import global_settings; "
        "names = sorted(name for name in dir(stack) if name.isupper()); "
        "print(*[name for name in names if getattr(stack, name) is not getattr(local, name, None)]); "
        "print(*stack.PASSWORD_HASHERS, *getattr(local, 'PASSWORD_HASHERS', global_settings.PASSWORD_HASHERS))"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_DEBUG"}
    result = subprocess.run(
        [sys.executable, "-c", compare], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    differing, hashers = result.stdout.splitlines()
    assert differing == "PASSWORD_HASHERS"
    assert hashers.split()[0] == "django.contrib.auth.hashers.MD5PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in hashers.split()[1:]
