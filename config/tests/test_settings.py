"""Production settings: deploy checks clean, and a clear error for every missing secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-for-the-check-only-0123456789",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "MONGODB_URI": "mongodb://db.internal:27017/tienda?replicaSet=rs0",
    "REDIS_URL": "redis://cache.internal:6379/0",
}


def manage(*args: str, **env_changes: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_cannot_be_turned_on_in_production() -> None:
    result = manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)", DJANGO_DEBUG="1")
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("DJANGO_SECRET_KEY", "Set the DJANGO_SECRET_KEY environment variable"),
        ("DJANGO_ALLOWED_HOSTS", "Set the DJANGO_ALLOWED_HOSTS environment variable"),
        ("MONGODB_URI", "Set the MONGODB_URI environment variable"),
        ("REDIS_URL", "Set the REDIS_URL environment variable"),
    ],
)
def test_missing_setting_is_named_at_startup(variable: str, message: str) -> None:
    result = manage("check", **{variable: None})
    assert result.returncode != 0
    assert message in result.stderr


def test_short_secret_key_is_refused() -> None:
    result = manage("check", DJANGO_SECRET_KEY="too-short")
    assert result.returncode != 0
    assert "at least 50 random characters" in result.stderr


def test_demo_data_is_disabled_in_production() -> None:
    result = manage("seed_demo")
    assert result.returncode != 0
    assert "production never has demo accounts" in result.stderr
