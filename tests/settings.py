"""Test settings: the same console/settings.py, with the test values put in its environment first.

Tests use their own Redis database numbers and key prefix, so a development worker left running never takes a
test's tasks, and a test run never touches development data.
"""

import os

TEST_ENVIRONMENT = {
    "HANEUL_DEBUG": "0",
    "HANEUL_SECRET_KEY": "tests-only-secret-key-not-for-production-0123456789",
    "HANEUL_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "HANEUL_HTTPS": "0",
    "HANEUL_REDIS_DB_BASE": "8",
    "HANEUL_KEY_PREFIX": "haneul-test",
    "HANEUL_STATIC_MANIFEST": "0",
    "HANEUL_STATIC_USE_FINDERS": "1",
    "HANEUL_LOG_LEVEL": "WARNING",
    # Tests read English unless they ask for Korean (the product default, ko, is checked in test_settings).
    "HANEUL_LANGUAGE_CODE": "en",
}
for _name, _value in TEST_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

from console.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only

# Tests serve static files from the source folders (finders); WhiteNoise still expects STATIC_ROOT to exist.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
