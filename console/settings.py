"""Haneul settings: one file, every value from the environment.

Defaults are safe for production (DEBUG off, secure cookies, HSTS, CSP). `make run` exports the development
values (see the Makefile); tests set theirs in `tests/settings.py` before importing this module.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"HANEUL_{name}", default)


def env_bool(name: str, default: bool) -> bool:
    raw = env(name, "")
    if raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"HANEUL_{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = env(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        raise ImproperlyConfigured(f"HANEUL_{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("HANEUL_SECRET_KEY must be set when HANEUL_DEBUG is off.")
    SECRET_KEY = "haneul-development-only-secret-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- Applications ---------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # trigram indexes (OpClass) for the server lists' search
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "csp",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "console",
    "tenants",
    "infra",
    "infra.providers.sandbox",
    "billing",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "tenants.middleware.UserPreferencesMiddleware",
    "tenants.middleware.RequireMFAMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"
ASGI_APPLICATION = "console.asgi.application"

# Django's form renderer with selects drawn in Python (the same HTML, without a template per option).
FORM_RENDERER = "console.core.forms.FormRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": [
                "django.templatetags.i18n",
                "django.templatetags.tz",
                "django.templatetags.static",
                "console.templatetags.console",
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context_processors.shell",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", "postgres://haneul:haneul@127.0.0.1:5432/haneul")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("HANEUL_DATABASE_URL must point at PostgreSQL: it is the console's only database.")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# An explicit test name: a child server process would otherwise connect to test_test_<name>.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", f"test_{DATABASES['default']['NAME']}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: one server, a database number per use (base + offset); tests use another base and key prefix.
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
REDIS_DB_BASE = env_int("REDIS_DB_BASE", 0)
KEY_PREFIX = env("KEY_PREFIX", "haneul")


def redis_db(offset: int) -> str:
    return f"{REDIS_URL}/{REDIS_DB_BASE + offset}"


CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_db(3),
        "KEY_PREFIX": KEY_PREFIX,
    }
}
# The live channel: channels_redis with a short blocking pop (2 s) read with a long socket timeout (30 s), so idle
# sockets are never dropped, and a pop that stops when its consumer is cancelled (console/core/channel_layer.py).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "console.core.channel_layer.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": redis_db(2), "socket_timeout": 30}], "prefix": f"{KEY_PREFIX}:asgi"},
    }
}

# --- Celery ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", redis_db(0))
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", redis_db(1))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = f"{KEY_PREFIX}.default"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    # Look for tasks of dead workers (unacknowledged past the visibility timeout) every N seconds, every time.
    "unacked_restore_interval": env_int("CELERY_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": 1,
    "global_keyprefix": f"{KEY_PREFIX}:",
}
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "console.tasks.clear_expired_sessions",
        "schedule": crontab(minute=17, hour=3),
    },
    "purge-idempotency-records": {
        "task": "console.tasks.purge_idempotency_records",
        "schedule": crontab(minute=43),
    },
    # Every region's health (docs/operator.md, Regions); a run left over from a stopped worker is not worth doing.
    "check-regions": {
        "task": "infra.tasks.check_regions",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    # Cloud -> mirror per region, and the rows whose task was lost (infra/reconcile.py).
    "reconcile-regions": {
        "task": "infra.tasks.reconcile_regions",
        "schedule": float(env_int("INFRA_RECONCILE_EVERY", 60)),
        "options": {"expires": 50},
    },
    "redrive-stuck": {
        "task": "infra.tasks.redrive_stuck",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
}

# --- Infrastructure engine (infra/provisioning.py; seconds) ---------------------------------------
INFRA_CLAIM_LEASE = env_int("INFRA_CLAIM_LEASE", 120)  # a task's claim on a row older than this may be taken over
INFRA_POLL_INTERVAL = float(env("INFRA_POLL_INTERVAL", "2"))  # first look at a slow cloud; then 1.5x, up to the max
INFRA_POLL_INTERVAL_MAX = float(env("INFRA_POLL_INTERVAL_MAX", "15"))
INFRA_RETRY_BASE = float(env("INFRA_RETRY_BASE", "2"))  # transient errors: base x 2^n, capped, with jitter
INFRA_RETRY_MAX = float(env("INFRA_RETRY_MAX", "300"))
INFRA_MAX_ATTEMPTS = env_int("INFRA_MAX_ATTEMPTS", 8)  # then the row fails with the last error
INFRA_OPERATION_TIMEOUT = env_int("INFRA_OPERATION_TIMEOUT", 1800)  # a cloud operation that never settles fails
INFRA_REDRIVE_AFTER = env_int("INFRA_REDRIVE_AFTER", 120)  # untouched this long with a pending op: sent again
INFRA_RECONCILE_QUIET = env_int("INFRA_RECONCILE_QUIET", 30)  # the reconciler leaves rows changed this recently

# --- Accounts -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Haneul] "
ACCOUNT_ADAPTER = "tenants.adapters.AccountAdapter"  # mail in the recipient's language; sign-in switches to the user's
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Haneul"
# Accept the previous and the next 30-second code too: phones' clocks drift.
MFA_TOTP_TOLERANCE = 1
USERSESSIONS_TRACK_ACTIVITY = True

CSRF_FAILURE_VIEW = "console.views.csrf_failure"  # our error page, in the user's language
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- HTTPS, headers, CSP --------------------------------------------------------------------------
HTTPS = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)  # opt in once the domain is ready for the preload list
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        # CSP Level 3: 'self' also allows ws:/wss: to the page's own host, the live channel's socket (/ws/live/…);
        # tests/e2e/test_live_activity.py proves it in the browser.
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", "ko")
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["console.formats"]  # our corrections of Django's date formats (console/formats/<lang>/)
LANGUAGE_COOKIE_NAME = "haneul_language"
LANGUAGE_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env("TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / ".run" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from the source folders when collectstatic has not run (development and tests).
WHITENOISE_USE_FINDERS = env_bool("STATIC_USE_FINDERS", DEBUG)
WHITENOISE_AUTOREFRESH = DEBUG

# --- E-mail ------------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / ".run" / "mail"))
EMAIL_HOST = env("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Haneul <no-reply@haneul.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The console's public address, for links in mail sent outside a request (notifications, from a worker).
_SITE_DEFAULT = f"{'https' if HTTPS else 'http'}://{(ALLOWED_HOSTS or ['localhost'])[0].lstrip('.')}"
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000" if DEBUG else _SITE_DEFAULT).rstrip("/")

# --- API ------------------------------------------------------------------------------------------
# /api/v1/ (tenants/api/): personal API tokens (`Authorization: Bearer hnl_…`) or the console's session (with CSRF).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiTokenAuthentication",
        "tenants.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["tenants.api.throttling.ApiRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "tenants.api.pagination.PagePagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "tenants.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "tenants.api.schema.ApiAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per token (per user for sessions) and per IP address for anonymous requests: "<n>/<s|m|h|d>".
API_THROTTLE_RATE = env("API_THROTTLE_RATE", "600/m")
API_ANON_THROTTLE_RATE = env("API_ANON_THROTTLE_RATE", "60/m")
# The longest a new API token may live, in days (0: tokens may also never expire).
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365)
# How long an Idempotency-Key is remembered; a request still in progress longer than the lock is taken over.
API_IDEMPOTENCY_HOURS = 24
API_IDEMPOTENCY_LOCK_SECONDS = 300
SPECTACULAR_SETTINGS = {
    "TITLE": "Haneul API",
    "DESCRIPTION": (
        "The Haneul cloud console API: organizations, projects, members, invitations and API tokens. "
        "Authenticate with a personal API token (`Authorization: Bearer hnl_…`, created under Settings → API "
        "tokens) or, from the console's pages, the session with its CSRF token. Creates accept an "
        '`Idempotency-Key` header. Errors are JSON: `{"code": …, "message": …}`. See docs/api.md.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "tenants.models.Role",
        "InvitationStatusEnum": "tenants.models.Invitation.Status",
        "ApiTokenStatusEnum": "tenants.models.ApiToken.Status",
    },
}

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Haneul ---------------------------------------------------------------------------------------
OPERATORS_GROUP = "operators"
# Days an invitation link stays valid.
INVITATION_DAYS = env_int("INVITATION_DAYS", 7)
