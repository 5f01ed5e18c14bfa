"""Tsunagu settings: one file, driven by environment variables (see .env.example).

With no variables at all (DJANGO_DEBUG=true aside) the project runs on its embedded default:
SQLite under var/ and Celery on kombu's filesystem broker under var/, so a clone needs no services.
In production set DATABASE_URL (PostgreSQL), CELERY_BROKER_URL and CACHE_URL (Redis), SECRET_KEY.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TSUNAGU_VAR_DIR") or BASE_DIR / "var")


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


DEBUG = env_bool("DJANGO_DEBUG", False)

# Required when DEBUG is off: left empty here, it stops `check`, `runserver`, `migrate`, the WSGI/ASGI
# entry points and the Celery worker and beat (crm/checks.py); commands that sign nothing still run.
SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "django-insecure-tsunagu-development-only-key-do-not-use-in-production"  # noqa: S105
TSUNAGU_SECRET_KEY_MISSING = not SECRET_KEY  # read by crm/checks.py (Django refuses to read an empty key)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "crm.admin_site.SuperuserAdminConfig",  # django.contrib.admin, for superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "crm.beat_app.ScheduledJobsConfig",  # django_celery_beat, its admin section named "Scheduled jobs"
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from our static files (no CDN)
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "customers",
    "touchpoints",
    "touchpoints.outreach",
    "loyalty",
    "feedback",
    "crm",
    "crm.insights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "crm.privacy.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "customers.search_tokens.SearchTokenMiddleware",  # search text out of URLs; after the CSRF check
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
ASGI_APPLICATION = "crm.asgi.application"

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
                "django.template.context_processors.i18n",
                "crm.context_processors.tsunagu",
                "crm.accounts.timeout.resume_form",
            ],
            # Filters every page uses: names in their script's order, yen one way.
            "builtins": ["customers.templatetags.names", "customers.templatetags.money"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
if not env("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default's SQLite file lives here
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tsunagu.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: every transaction takes the write lock when it begins and waits up to 20 s for it.
    # A deferred transaction that reads, then writes, fails at once ("database is locked") when another holds
    # the lock. WAL lets pages read while someone writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions ---------------------------------------------------------------------------
CACHE_URL = env("CACHE_URL")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tsunagu"}}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth -----------------------------------------------------------------------------------------
# Axes first: a locked-out login is refused before any password is hashed.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "crm.auth.PermissionBackend"]
# Login throttling (django-axes): after N failures an account is locked from every address, and an address for
# every account, for the cool-off; a successful login clears the account's failures.
AXES_FAILURE_LIMIT = env_int("TSUNAGU_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("TSUNAGU_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "crm.auth.login_locked_out"
AXES_USERNAME_FORM_FIELD = "username"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Checked wherever a password is set: the password change page, the admin's user pages, `changepassword`.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("TSUNAGU_PASSWORD_MIN_LENGTH", 12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Two-factor authentication (crm/accounts, django-otp): roles that must use it, as a comma list of role (group)
# names, "superuser" or "*"; empty: optional for everyone. Such a user reaches only the enrolment page until done.
TSUNAGU_REQUIRE_2FA_FOR = env_list("TSUNAGU_REQUIRE_2FA_FOR")
OTP_TOTP_ISSUER = env("TSUNAGU_SHOP_NAME", "Tsunagu Demo Shop")

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = env("DJANGO_LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("DJANGO_TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env_bool("DJANGO_PLAIN_STATIC", False)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
        # Public files: readable by the web server in front (nginx), whatever FILE_UPLOAD_PERMISSIONS says for uploads.
        "OPTIONS": {"file_permissions_mode": 0o644, "directory_permissions_mode": 0o755},
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security -------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# A staff session ends after this many minutes without a request, and this many hours after its login
# (crm/accounts/timeout.py).
TSUNAGU_SESSION_IDLE_MINUTES = env_int("TSUNAGU_SESSION_IDLE_MINUTES", 60)
TSUNAGU_SESSION_MAX_HOURS = env_int("TSUNAGU_SESSION_MAX_HOURS", 12)
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", 60 * 60 * TSUNAGU_SESSION_MAX_HOURS)
CSRF_COOKIE_HTTPONLY = True
# The feedback rollup's covering index (INCLUDE) is a PostgreSQL feature; SQLite, the embedded default, builds the
# index without the extra columns, which is all that default needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a one-way commitment for the whole domain: an explicit opt-in, not a default.
        SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    AXES_IPWARE_PROXY_COUNT = 1  # the client's address is the one the proxy adds to X-Forwarded-For
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# django-csp 4: no inline script or style anywhere; everything is served from our own static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Email ----------------------------------------------------------------------------------------
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", "Tsunagu <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport does not create its folders.
    for folder in ("out", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Longer than any countdown we use: anything due later is a database row, not a broker ETA.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = "UTC"

# --- Tsunagu --------------------------------------------------------------------------------------
TSUNAGU_SHOP_NAME = env("TSUNAGU_SHOP_NAME", "Tsunagu Demo Shop")
PHONENUMBER_DEFAULT_REGION = env("TSUNAGU_PHONE_REGION", "JP")
TSUNAGU_PAGE_SIZE = env_int("TSUNAGU_PAGE_SIZE", 50)
TSUNAGU_COUNT_CAP = env_int("TSUNAGU_COUNT_CAP", 10_000)
TSUNAGU_IMPORT_MAX_BYTES = env_int("TSUNAGU_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
# Uploaded CSV files hold personal data: deleted this many days after the upload (hourly job).
TSUNAGU_IMPORT_RETENTION_DAYS = env_int("TSUNAGU_IMPORT_RETENTION_DAYS", 7)
# A public-form message from an address is attached to its customer only once the address is confirmed.
TSUNAGU_FEEDBACK_CONFIRM_HOURS = env_int("TSUNAGU_FEEDBACK_CONFIRM_HOURS", 48)
# A photo sent with the public form: at most this many bytes (JPEG, PNG, WebP, HEIC), kept in this private
# directory (outside MEDIA_ROOT, never served by URL: staff download it through a permission-checked view).
TSUNAGU_FEEDBACK_PHOTO_MAX_BYTES = env_int("TSUNAGU_FEEDBACK_PHOTO_MAX_BYTES", 5 * 1024 * 1024)
TSUNAGU_PRIVATE_MEDIA_ROOT = Path(env("TSUNAGU_PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")))
# Loyalty: greetings go out from this hour (0-23) of their day, in the business time zone.
TSUNAGU_LOYALTY_GREETING_HOUR = env_int("TSUNAGU_LOYALTY_GREETING_HOUR", 9)
# The member card (/m/): days a mailed card link works; minutes a one-time code works; days a phone stays
# signed in to its card; one-time codes a client address may ask for ("<n>/minute|hour|day").
TSUNAGU_CARD_LINK_DAYS = env_int("TSUNAGU_CARD_LINK_DAYS", 7)
TSUNAGU_CARD_CODE_MINUTES = env_int("TSUNAGU_CARD_CODE_MINUTES", 15)
TSUNAGU_CARD_SESSION_DAYS = env_int("TSUNAGU_CARD_SESSION_DAYS", 90)
TSUNAGU_CARD_CODE_RATE_LIMIT = env("TSUNAGU_CARD_CODE_RATE_LIMIT", "5/hour")
# Wallet passes of the member card (loyalty/wallet/). Apple Wallet: the pass type ID and team ID, the pass type
# certificate and its key (PEM files; the key's password if any) and Apple's WWDR intermediate certificate (PEM);
# pushes to Apple's servers when a balance changes use a token key (.p8 file, its key ID). Without the pass
# certificate the card shows no Apple Wallet button. Google Wallet: the issuer ID, the loyalty class's suffix
# (the class is created once in the Google Pay & Wallet console) and the service account's JSON key file;
# without them, no Google Wallet button. The API addresses are settings so tests use local stand-ins.
TSUNAGU_APPLE_PASS_TYPE_ID = env("TSUNAGU_APPLE_PASS_TYPE_ID")
TSUNAGU_APPLE_TEAM_ID = env("TSUNAGU_APPLE_TEAM_ID")
TSUNAGU_APPLE_PASS_CERT_FILE = env("TSUNAGU_APPLE_PASS_CERT_FILE")
TSUNAGU_APPLE_PASS_KEY_FILE = env("TSUNAGU_APPLE_PASS_KEY_FILE")
TSUNAGU_APPLE_PASS_KEY_PASSWORD = env("TSUNAGU_APPLE_PASS_KEY_PASSWORD")
TSUNAGU_APPLE_WWDR_CERT_FILE = env("TSUNAGU_APPLE_WWDR_CERT_FILE")
TSUNAGU_APPLE_APNS_KEY_FILE = env("TSUNAGU_APPLE_APNS_KEY_FILE")
TSUNAGU_APPLE_APNS_KEY_ID = env("TSUNAGU_APPLE_APNS_KEY_ID")
TSUNAGU_APPLE_APNS_URL = env("TSUNAGU_APPLE_APNS_URL", "https://api.push.apple.com").rstrip("/")
TSUNAGU_GOOGLE_WALLET_ISSUER_ID = env("TSUNAGU_GOOGLE_WALLET_ISSUER_ID")
TSUNAGU_GOOGLE_WALLET_CLASS_SUFFIX = env("TSUNAGU_GOOGLE_WALLET_CLASS_SUFFIX", "members")
TSUNAGU_GOOGLE_WALLET_KEY_FILE = env("TSUNAGU_GOOGLE_WALLET_KEY_FILE")
TSUNAGU_GOOGLE_WALLET_API_URL = env(
    "TSUNAGU_GOOGLE_WALLET_API_URL", "https://walletobjects.googleapis.com/walletobjects/v1"
).rstrip("/")
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o600  # uploads hold personal data (feedback photos): readable by the app alone

# --- Outreach (touchpoints/outreach/outbox/) ------------------------------------------------------
# Absolute address of the site, for links in mail (the unsubscribe link must work outside the app).
TSUNAGU_BASE_URL = env("TSUNAGU_BASE_URL", "http://localhost:8000").rstrip("/")
# A mailbox offered in List-Unsubscribe as mailto: — add it as an "unsubscribe" mailbox so Tsunagu reads it. Empty
# (default): only the RFC 8058 one-click link.
TSUNAGU_UNSUBSCRIBE_MAILTO = env("TSUNAGU_UNSUBSCRIBE_MAILTO")
# Days a link to the preference centre works (the unsubscribe page and the member card sign a fresh one each time).
TSUNAGU_PREFERENCES_LINK_DAYS = env_int("TSUNAGU_PREFERENCES_LINK_DAYS", 30)
# Inbound email (touchpoints/outreach/channels/mailbox/): the Reply-To of ticket mail (empty: the first active
# support mailbox) and the limits on attachments kept. Mailbox passwords: TSUNAGU_MAILBOX_<NAME>_PASSWORD.
TSUNAGU_SUPPORT_ADDRESS = env("TSUNAGU_SUPPORT_ADDRESS")
TSUNAGU_MAIL_ATTACHMENT_MAX_BYTES = env_int("TSUNAGU_MAIL_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
TSUNAGU_MAIL_ATTACHMENT_MAX_COUNT = env_int("TSUNAGU_MAIL_ATTACHMENT_MAX_COUNT", 20)
# Days an inbound mail's raw bytes are kept (a nightly job empties older ones; the conversation stays). 0: keep.
TSUNAGU_INBOUND_RAW_RETENTION_DAYS = env_int("TSUNAGU_INBOUND_RAW_RETENTION_DAYS", 365)
# A mail provider's inbound webhook (django-anymail, /anymail/<provider>/inbound/): the basic-auth secret the
# provider's webhook URL carries, and the provider's signing key (Mailgun's here; see anymail's docs for others).
ANYMAIL = {
    "WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET") or None,
    "MAILGUN_WEBHOOK_SIGNING_KEY": env("ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY") or None,
}
ANYMAIL = {name: value for name, value in ANYMAIL.items() if value}
# No marketing mail in these local hours (business time zone); messages wait until the end. Empty: none.
TSUNAGU_QUIET_HOURS = env("TSUNAGU_QUIET_HOURS", "21:00-08:00")
_HH_MM = r"([01]\d|2[0-3]):[0-5]\d"
if TSUNAGU_QUIET_HOURS.strip() and not re.fullmatch(rf"\s*{_HH_MM}\s*-\s*{_HH_MM}\s*", TSUNAGU_QUIET_HOURS):
    # Read when a message is sent: a typo would otherwise fail every marketing send, long after start-up.
    raise ImproperlyConfigured(
        f"TSUNAGU_QUIET_HOURS must read like 21:00-08:00, or be empty (got {TSUNAGU_QUIET_HOURS!r})."
    )
# Follow-up rules open at most this many staff tasks per customer (and never two from the same rule).
TSUNAGU_OPEN_TASKS_PER_CUSTOMER = env_int("TSUNAGU_OPEN_TASKS_PER_CUSTOMER", 3)
# A message that keeps failing is retried after 1, 2, 4… times this many seconds, up to the attempts limit.
TSUNAGU_OUTBOX_RETRY_SECONDS = env_int("TSUNAGU_OUTBOX_RETRY_SECONDS", 300)
TSUNAGU_OUTBOX_MAX_ATTEMPTS = env_int("TSUNAGU_OUTBOX_MAX_ATTEMPTS", 6)
# A send attempt that shows no progress for this long is taken to be dead (its worker was killed). Keep it
# above 5 x EMAIL_TIMEOUT (the SMTP steps of one message), so a slow but live attempt is never taken for dead.
TSUNAGU_OUTBOX_CLAIM_TIMEOUT = env_int("TSUNAGU_OUTBOX_CLAIM_TIMEOUT", 300)
# A queued message whose send task has not run after this long is handed to the broker again.
TSUNAGU_OUTBOX_REQUEUE_SECONDS = env_int("TSUNAGU_OUTBOX_REQUEUE_SECONDS", 900)
# Messages per send task (one SMTP connection each), and follow-ups per dispatcher transaction.
TSUNAGU_OUTBOX_BATCH = env_int("TSUNAGU_OUTBOX_BATCH", 100)
TSUNAGU_OUTREACH_DISPATCH_CHUNK = env_int("TSUNAGU_OUTREACH_DISPATCH_CHUNK", 500)
# How often the follow-up dispatcher, the broadcast starter and the outbox sweeper run (seconds).
TSUNAGU_OUTREACH_TICK_SECONDS = env_int("TSUNAGU_OUTREACH_TICK_SECONDS", 60)
# Seconds an SMTP connection waits for the server before giving up.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)

# --- LINE (touchpoints/outreach/line/) -------------------------------------------------------------
# The Messaging API channel: its ID, its provider's ID (LINE user IDs are per provider) and its secret (the
# webhook's signature). The access token is read again at every use, from LINE_CHANNEL_ACCESS_TOKEN_FILE when
# set (rotate by rewriting the file: no restart) or else from LINE_CHANNEL_ACCESS_TOKEN. No token: LINE
# messages become staff tasks, as before.
LINE_CHANNEL_ID = env("LINE_CHANNEL_ID", "")
LINE_PROVIDER_ID = env("LINE_PROVIDER_ID", "") or LINE_CHANNEL_ID
LINE_CHANNEL_SECRET = env("LINE_CHANNEL_SECRET", "")
LINE_CHANNEL_ACCESS_TOKEN_FILE = env("LINE_CHANNEL_ACCESS_TOKEN_FILE", "")
# LINE's API and its account-link dialog (the local stand-in's address in tests).
LINE_API_HOST = env("LINE_API_HOST", "https://api.line.me").rstrip("/")
LINE_ACCESS_HOST = env("LINE_ACCESS_HOST", "https://access.line.me").rstrip("/")
# LINE Login (OpenID Connect): a LINE Login channel of the same provider lets a member link LINE from their member
# card. Unset: the button is absent.
LINE_LOGIN_CHANNEL_ID = env("TSUNAGU_LINE_LOGIN_CHANNEL_ID", "")
LINE_LOGIN_CHANNEL_SECRET = env("TSUNAGU_LINE_LOGIN_CHANNEL_SECRET", "")
# Seconds a reply token is used for a staff reply (LINE keeps it valid for about a minute); push after.
LINE_REPLY_TOKEN_SECONDS = env_int("LINE_REPLY_TOKEN_SECONDS", 50)
# A LINE message joins the customer's newest LINE ticket that is not closed and was active within this many
# days; otherwise it opens a new ticket.
LINE_TICKET_JOIN_DAYS = env_int("LINE_TICKET_JOIN_DAYS", 14)

# --- Feedback (feedback/) --------------------------------------------------------------------------
# Days a survey link (CSAT/NPS) stays valid; after that the page says it expired.
TSUNAGU_SURVEY_LINK_DAYS = env_int("TSUNAGU_SURVEY_LINK_DAYS", 30)
# Messages the public feedback form (/feedback/) accepts per client address: "<n>/minute|hour|day".
TSUNAGU_FEEDBACK_RATE_LIMIT = env("TSUNAGU_FEEDBACK_RATE_LIMIT", "5/hour")
# The request header holding the client's address when a proxy sits in front (e.g. HTTP_X_REAL_IP, set by
# nginx); empty: REMOTE_ADDR. Only set it when the proxy overwrites the header (clients can forge it).
TSUNAGU_CLIENT_IP_HEADER = env("TSUNAGU_CLIENT_IP_HEADER")
# How often the SLA job looks for deadlines near or passed (seconds).
TSUNAGU_SLA_CHECK_SECONDS = env_int("TSUNAGU_SLA_CHECK_SECONDS", 60)
# Whose public holidays the SLA business hours skip: an ISO code (JP, or with a subdivision: US-CA); empty: none
# (the holidays staff list in the admin still count).
TSUNAGU_HOLIDAY_COUNTRY = env("TSUNAGU_HOLIDAY_COUNTRY", "JP")

# --- Insights (crm/insights/rollups/, crm/insights/metrics/) ------------------------------------------------------
# A customer has lapsed (churned) after this many days without a touchpoint; a change rebuilds the rollups.
TSUNAGU_LAPSE_DAYS = env_int("TSUNAGU_LAPSE_DAYS", 180)

# --- Ingest API (Django REST framework) -----------------------------------------------------------
# Requests per API key (DRF throttle syntax: "<n>/second|minute|hour|day"); a batch of 1,000 is one request.
TSUNAGU_API_RATE_LIMIT = env("TSUNAGU_API_RATE_LIMIT", "600/minute")
REST_FRAMEWORK = {
    # API keys only (Authorization: Bearer <key>); staff sessions do not reach the API, so no CSRF questions.
    "DEFAULT_AUTHENTICATION_CLASSES": ["touchpoints.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["touchpoints.api_auth.HasApiKeyScopes"],  # each view's required_scopes
    "DEFAULT_THROTTLE_CLASSES": ["touchpoints.api_auth.ApiKeyRateThrottle"],
    # JSON only: the browsable API needs inline scripts, which the CSP forbids.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's, refusing lone surrogates (a 500 further on: see the module).
    "DEFAULT_PARSER_CLASSES": ["touchpoints.api_parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "touchpoints.api_errors.exception_handler",  # JSON for a body over the limit too
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tsunagu API",
    "DESCRIPTION": "Ingest customers and touchpoints. Authenticate with `Authorization: Bearer <API key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema is for staff (session) and integrators (API key), not the public.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": [
        "rest_framework.authentication.SessionAuthentication",
        "touchpoints.api_auth.ApiKeyAuthentication",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # 401/403/404/413/429 on every operation, and the "exactly one of" rules of the bodies (touchpoints.api_schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "touchpoints.api_schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CustomerSourceEnum": "customers.models.Customer.Source",
        "TouchpointSourceEnum": "touchpoints.models.Touchpoint.Source",
        # Two "channel" fields (a touchpoint's, a ticket's): each choice set named, or the schema warns.
        "TouchpointChannelEnum": "touchpoints.models.Channel",
        "TicketChannelEnum": "feedback.models.Ticket.Channel",
        "TicketKindEnum": "feedback.models.Ticket.Kind",
        "TicketStatusEnum": "feedback.models.Status",
        "TicketPriorityEnum": "feedback.models.Priority",
        # A key may not claim "unsubscribe" (the customer's own act), though answers may show it.
        "ConsentSourceEnum": "customers.models.Customer.ConsentSource",
        "ApiConsentSourceEnum": "customers.serializers.API_CONSENT_SOURCES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Observability (crm/observability/): /metrics, JSON logs, Sentry -----------------------------------
INSTALLED_APPS += ["crm.observability"]
# First, so that its timing covers every other middleware and every log line carries the request id.
MIDDLEWARE.insert(0, "crm.observability.request_log.RequestLogMiddleware")
# The bearer token a Prometheus scraper sends to /metrics; empty: /metrics answers 404.
TSUNAGU_METRICS_TOKEN = env("TSUNAGU_METRICS_TOKEN")
# "json": one JSON object a line (production); "plain": readable lines (the default, for development).
LOGGING["formatters"]["json"] = {"()": "crm.observability.logs.JsonFormatter"}
LOGGING["filters"] = {"request_id": {"()": "crm.observability.logs.RequestIdFilter"}}
LOGGING["handlers"]["console"]["formatter"] = "json" if env("DJANGO_LOG_FORMAT", "plain") == "json" else "plain"
LOGGING["handlers"]["console"]["filters"] = ["request_id"]
SENTRY_DSN = env("SENTRY_DSN")
if SENTRY_DSN:
    from crm.observability.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT"),
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
    )

# Audit trail (crm/audit): change history by django-pghistory's PostgreSQL triggers (none on SQLite), and the
# access log of who opened or exported which customers, purged daily after TSUNAGU_AUDIT_RETENTION_DAYS.
INSTALLED_APPS += ["pgtrigger", "pghistory", "crm.audit"]
_auth = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE[_auth + 1 : _auth + 1] = [
    "crm.audit.context.HistoryContextMiddleware",
    "crm.audit.access.AccessLogMiddleware",
]
# Staff accounts (crm/accounts): the session's timeouts and the two-factor requirement, after the messages they add.
_messages = MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware")
MIDDLEWARE[_messages + 1 : _messages + 1] = [
    "crm.accounts.timeout.SessionTimeoutMiddleware",
    "crm.accounts.middleware.TwoFactorRequiredMiddleware",
]
TSUNAGU_AUDIT_RETENTION_DAYS = env_int("TSUNAGU_AUDIT_RETENTION_DAYS", 730)

# Privacy requests (crm/dataprotection): disclosure archives, erasure, and the retention policy, which anonymises
# customers inactive for this many years every night (0, the default: off).
INSTALLED_APPS += ["crm.dataprotection"]
TSUNAGU_RETENTION_INACTIVE_YEARS = env_int("TSUNAGU_RETENTION_INACTIVE_YEARS", 0)
