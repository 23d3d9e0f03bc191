"""Production mode must refuse to start without its required settings, naming the missing variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-for-the-test",
    "DJANGO_ALLOWED_HOSTS": "referrals.example.com",
    "DATABASE_URL": "postgres://app:secret@db:5432/referrals",
    "REDIS_URL": "redis://redis:6379/0",
    "EMAIL_URL": "smtp://user:pass@smtp.example.com:587/?tls=True",
    "DEFAULT_FROM_EMAIL": "Referrals <hello@referrals.example.com>",
    "SITE_URL": "https://referrals.example.com",
}


def boot(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter, as a server process would at start."""
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in {"EMAIL_BACKEND"}}
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "DJANGO_SETTINGS_MODULE": "referrals_saas.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_boot_when_complete():
    result = boot(PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "EMAIL_URL",
        "DEFAULT_FROM_EMAIL",
        "SITE_URL",
    ],
)
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = boot(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_turns_on_secure_cookies_and_hsts():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "referrals_saas.settings", **PRODUCTION_ENV}
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True"]


def test_development_mode_needs_no_environment():
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update(DJANGO_DEBUG="1", DJANGO_SETTINGS_MODULE="referrals_saas.settings")
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True"]
