"""The one settings module. Everything that differs between machines comes from the environment.

With no environment at all (and DJANGO_DEBUG=1, as `make run` sets) the product runs on SQLite with Celery
tasks executed in-process. Production (DJANGO_DEBUG unset or 0) refuses to start without the variables in
REQUIRED_IN_PRODUCTION, naming the one that is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)


def required_in_production(name: str, *, development_default: str = "") -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return development_default
    raise ImproperlyConfigured(
        f"The environment variable {name} must be set when DJANGO_DEBUG is off (production mode)."
    )


SECRET_KEY = required_in_production(
    "DJANGO_SECRET_KEY", development_default="development-only-secret-key-never-used-in-production"
)
ALLOWED_HOSTS = required_in_production("DJANGO_ALLOWED_HOSTS", development_default="127.0.0.1,localhost,[::1]").split(
    ","
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Absolute links in e-mails and referral URLs are built from this, never from the request's Host header.
SITE_URL = required_in_production("SITE_URL", development_default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework_api_key",
    "django_htmx",
    "template_partials",
    "django_countries",
    "anymail",
    "businesses",
    "clients",
    "bookings",
    "rewards",
    "referrals",
    "campaigns",
    "widgets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before XFrameOptionsMiddleware, so that it sees (and replaces) that header on the widget's pages.
    "widgets.framing.WidgetFramingMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "referrals_saas.tenancy.TenantMiddleware",
]

ROOT_URLCONF = "referrals_saas.urls"
WSGI_APPLICATION = "referrals_saas.wsgi.application"
AUTH_USER_MODEL = "businesses.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "referrals_saas.context_processors.dashboard",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}" if DEBUG else required_in_production("DATABASE_URL"),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes write transactions take the lock up front, so concurrent requests wait instead of
    # failing with "database is locked" halfway through.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="") or (None if DEBUG else required_in_production("REDIS_URL"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="rs"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without a broker the tasks run in-process, so the embedded default needs no worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Long waits are rows polled by periodic tasks, so no countdown ever approaches this.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
# Days after which a friend invited from a client profile gets their one reminder (widgets.invitations).
FRIEND_INVITATION_REMINDER_DAYS = 3
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Referral link clicks are counted in Redis by the click view and written to ClickCount in batches.
    "referrals-clicks-flush": {"task": "referrals.clicks_flush", "schedule": 60.0},
    # Flagged referrals whose review deadline passed are approved (and rewarded if their booking is due).
    "referrals-auto-approve-flagged": {"task": "referrals.auto_approve_flagged", "schedule": 900.0},
    # Imports whose task a broker outage or a crash lost are sent again.
    "clients-imports-resume-stale": {"task": "clients.tasks.imports_resume_stale", "schedule": 300.0},
    # Store credit and points past their expiry leave through "expire" entries.
    "rewards-expire-due": {"task": "rewards.expire_due", "schedule": 3600.0},
    # Outbox messages that are due but have no task (delayed, or lost to a broker outage or a crash) are sent.
    "campaigns-outbox-sweep": {"task": "campaigns.outbox_sweep", "schedule": 60.0},
    # Clients are reminded of coupons, store credit and points about to expire unused (once per item).
    "campaigns-remind-expiring": {"task": "campaigns.remind_expiring", "schedule": 86400.0},
    # Scheduled campaigns that are due start sending; a sending campaign whose batch task was lost resumes.
    "campaigns-start-due": {"task": "campaigns.campaigns_start_due", "schedule": 60.0},
    # Webhook deliveries whose retry is due, or whose task was lost, are handed to a task.
    "campaigns-webhooks-sweep": {"task": "campaigns.webhooks_sweep", "schedule": 60.0},
    # Friends a client invited by e-mail get one reminder this many days later if they have not booked.
    "widgets-remind-invited-friends": {"task": "widgets.remind_invited_friends", "schedule": 3600.0},
    # Idempotency-Key records older than 24 hours are deleted.
    "api-idempotency-cleanup": {"task": "businesses.idempotency_cleanup", "schedule": 3600.0},
    # The overview's daily figures of the last days are rebuilt from the source rows (clicks, drift).
    "referrals-daily-stats-refresh": {"task": "referrals.daily_stats_refresh", "schedule": 86400.0},
    # The overview's rows of differences are folded into one row per day and service.
    "referrals-daily-stats-compact": {"task": "referrals.daily_stats_compact", "schedule": 300.0},
}

# --- Accounts (django-allauth) ------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_SIGNUP_FORM_CLASS = "businesses.forms.SignupBusinessForm"
ACCOUNT_ADAPTER = "businesses.accounts.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard_home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- E-mail -----------------------------------------------------------------------------------------------
# EMAIL_URL picks SMTP/console/locmem (smtp://user:pass@host:587/?tls=True, consolemail://, ...). A provider
# through django-anymail is chosen with EMAIL_BACKEND (e.g. anymail.backends.postmark.EmailBackend) plus its
# ANYMAIL_* variables, which are passed through as they are.
if env.str("EMAIL_BACKEND", default=""):
    EMAIL_BACKEND = env.str("EMAIL_BACKEND")
else:
    vars().update(
        env.email_url(
            "EMAIL_URL",
            default="consolemail://" if DEBUG else required_in_production("EMAIL_URL"),
        )
    )
ANYMAIL = {key.removeprefix("ANYMAIL_"): value for key, value in os.environ.items() if key.startswith("ANYMAIL_")}
DEFAULT_FROM_EMAIL = required_in_production(
    "DEFAULT_FROM_EMAIL", development_default="Referrals <hello@referrals.localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# A send must finish well within the outbox's five-minute delivery claim (campaigns/delivery.py).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Outbound webhooks ----------------------------------------------------------------------------------------
# Webhook targets must be public addresses; True also allows loopback (127.0.0.1, ::1), for a receiver on the
# developer's own machine and for the tests' local receiver. Never in production.
WEBHOOKS_ALLOW_LOOPBACK = env.bool("WEBHOOKS_ALLOW_LOOPBACK", default=False)
# How many proxies in front append to X-Forwarded-For (a TLS proxy: 1). Rate limits and fraud signals count by the
# address the outermost of them saw; 0 trusts no header and uses the connection's address.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)

# --- Stripe (keys only from the environment; empty disables payments) -----------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# The Price (price_...) of the paid plan businesses subscribe to; empty: no plans, no limits (businesses.billing).
STRIPE_PRICE_PAID_PLAN = env.str("STRIPE_PRICE_PAID_PLAN", default="")

# --- Security -----------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Health checks from the orchestrator come over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)

# --- Internationalisation -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- API ----------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "referrals_saas.api.schema.APIAutoSchema",
    # Per-business API keys sent as `Authorization: Bearer <key>`; no session or basic auth on the API.
    "DEFAULT_AUTHENTICATION_CLASSES": ["referrals_saas.api.auth.APIKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["referrals_saas.api.permissions.HasBusinessAPIKey"],
    "DEFAULT_THROTTLE_CLASSES": [
        "referrals_saas.api.throttling.ReadThrottle",
        "referrals_saas.api.throttling.WriteThrottle",
    ],
    # Per API key, counted in the cache (Redis when REDIS_URL is set).
    "DEFAULT_THROTTLE_RATES": {
        "api_read": env.str("API_RATE_READ", default="120/minute"),
        "api_write": env.str("API_RATE_WRITE", default="60/minute"),
    },
    "DEFAULT_PAGINATION_CLASS": "referrals_saas.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "referrals_saas.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Referrals API",
    "VERSION": "1.0.0",
    "DESCRIPTION": "The referral program of one business, for its booking system, CRM or e-mail platform. "
    "Authenticate with an API key from the dashboard (Settings → API keys): `Authorization: Bearer <key>`.",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Self-hosted Swagger UI and Redoc (drf-spectacular-sidecar): no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ClientSourceEnum": "clients.models.Source",
        "ReferralSourceEnum": "referrals.models.ReferralSource",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
