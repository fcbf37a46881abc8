"""console/settings.py reads everything from the environment, with production-safe defaults."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from tests.harness.processes import ROOT

PROBE = """
import json
import re
from django.conf import settings
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "DB_NAME": settings.DATABASES["default"]["NAME"],
    "DB_TEST_NAME": settings.DATABASES["default"]["TEST"]["NAME"],
    "BROKER": settings.CELERY_BROKER_URL,
    "RESULTS": settings.CELERY_RESULT_BACKEND,
    "CHANNELS": settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0],
    "CACHE": settings.CACHES["default"]["LOCATION"],
    "CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    "TIME_ZONE": settings.TIME_ZONE,
    "INVITATION_DAYS": settings.INVITATION_DAYS,
    "LANGUAGES": [code for code, _ in settings.LANGUAGES],
    "LANGUAGE_CODE": settings.LANGUAGE_CODE,
    "CSP": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src"],
}))
"""


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "console.settings"}
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def loaded(**env: str) -> dict:
    result = load_settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_defaults_are_safe_when_only_the_secret_is_given():
    values = loaded(HANEUL_SECRET_KEY="x" * 50)
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == []
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["CSP"] == ["'self'"]
    assert values["TIME_ZONE"] == "Asia/Seoul"
    assert values["LANGUAGES"] == ["ko", "en"]
    assert values["LANGUAGE_CODE"] == "ko"


def test_missing_secret_key_in_production_is_refused_with_its_name():
    result = load_settings()
    assert result.returncode != 0
    assert "HANEUL_SECRET_KEY must be set" in result.stderr


def test_debug_mode_gets_development_values():
    values = loaded(HANEUL_DEBUG="1")
    assert values["DEBUG"] is True
    assert values["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_values_come_from_the_environment():
    values = loaded(
        HANEUL_SECRET_KEY="s" * 50,
        HANEUL_ALLOWED_HOSTS="console.example.com, api.example.com",
        HANEUL_DATABASE_URL="postgres://u:p@db.internal:5433/haneul_prod",
        HANEUL_REDIS_URL="redis://cache.internal:6380/",
        HANEUL_REDIS_DB_BASE="4",
        HANEUL_KEY_PREFIX="prod",
        HANEUL_TIME_ZONE="UTC",
        HANEUL_HTTPS="0",
        HANEUL_INVITATION_DAYS="3",
    )
    assert values["ALLOWED_HOSTS"] == ["console.example.com", "api.example.com"]
    assert values["DB_NAME"] == "haneul_prod"
    assert values["DB_TEST_NAME"] == "test_haneul_prod"
    assert values["BROKER"] == "redis://cache.internal:6380/4"
    assert values["RESULTS"] == "redis://cache.internal:6380/5"
    assert values["CHANNELS"]["address"] == "redis://cache.internal:6380/6"
    assert values["CACHE"] == "redis://cache.internal:6380/7"
    assert values["CACHE_PREFIX"] == "prod"
    assert values["TIME_ZONE"] == "UTC"
    assert values["INVITATION_DAYS"] == 3
    assert values["SESSION_COOKIE_SECURE"] is False


def test_sqlite_database_url_is_refused():
    result = load_settings(HANEUL_DEBUG="1", HANEUL_DATABASE_URL="sqlite:///db.sqlite3")
    assert result.returncode != 0
    assert "must point at PostgreSQL" in result.stderr


def test_malformed_boolean_is_refused_with_its_name():
    result = load_settings(HANEUL_DEBUG="maybe")
    assert result.returncode != 0
    assert "HANEUL_DEBUG must be a boolean" in result.stderr


def test_tests_use_their_own_redis_databases_and_prefix(settings):
    assert settings.REDIS_DB_BASE == 8
    assert settings.CELERY_BROKER_URL.endswith("/8")
    assert settings.CACHES["default"]["KEY_PREFIX"] == "haneul-test"
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "haneul-test.default"


def test_production_settings_pass_djangos_deployment_checklist():
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "console.settings"}
    env = {
        **clean,
        "HANEUL_SECRET_KEY": "k" * 20 + "-Zq9!x" + "m" * 30,
        "HANEUL_ALLOWED_HOSTS": "console.example.com",
        "HANEUL_HSTS_PRELOAD": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_settings_reads_is_named_without_the_prefix_and_documented():
    """`env("X")` reads `HANEUL_X`: a name passed with the prefix would read `HANEUL_HANEUL_X`, silently ignored."""
    source = (ROOT / "console" / "settings.py").read_text()
    names = set(re.findall(r'\benv(?:_int|_bool|_list)?\("([A-Z0-9_]+)"', source))
    assert names, "the pattern no longer matches how settings.py reads the environment"
    assert not [name for name in names if name.startswith("HANEUL_")]
    guide = (ROOT / "docs" / "operator.md").read_text()
    documented = set(re.findall(r"HANEUL_([A-Z0-9_]+)", guide))
    documented |= {f"EMAIL_{part}" for part in re.findall(r"`_([A-Z_]+)`", guide)}  # the SMTP row abbreviates
    assert sorted(names - documented) == []
