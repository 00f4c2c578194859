"""Settings, read once from the environment (and an optional `.env` file).

Every value comes through one `environ.Env`; a malformed value stops start-up with a
message that names the variable. See `.env.example` for the full list.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")


def _read(name: str, cast, default):
    """Read one variable, turning any parse error into a message that names it."""
    try:
        return cast(name, default=default)
    except (ValueError, TypeError, ImproperlyConfigured, environ.ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"Environment variable {name} is malformed: {exc}") from exc


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, default: bool) -> bool:
    """A strict boolean: django-environ reads any unknown word as False, which hides typos."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw not in _TRUE | _FALSE:
        raise ImproperlyConfigured(f"Environment variable {name} must be true or false, got {raw!r}.")
    return raw in _TRUE


def _database(name: str, default: str) -> dict:
    url = env.str(name, default=default)
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in environ.Env.DB_SCHEMES:
        raise ImproperlyConfigured(
            f"Environment variable {name} has an unknown scheme {scheme!r} "
            f"(use sqlite:///path or postgres://user:password@host:5432/name)."
        )
    return _read(name, env.db_url, default)


# Django's own Redis backend; django-environ would pick django-redis whenever it is installed.
_REDIS_BACKEND = "dashboard.redis_cache.RedisCache"  # Django's, sharing one client per pool
# Options of the cache itself, which django-environ lower-cases for Django's Redis backend.
_CACHE_BASE_OPTIONS = ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION")


def _cache(name: str, default: str) -> dict:
    """A cache URL: `locmemcache://name` for one process, `redis://host:6379/db` (or `rediss://`)
    for several, through Django's built-in Redis backend (`redis://primary,replica/db` names
    replicas). `?key_prefix=…` and `?timeout=…` are the cache's own options; other query
    parameters go to the Redis client."""
    url = env.str(name, default=default)
    scheme = url.split("://", 1)[0] if "://" in url else ""
    backend = _REDIS_BACKEND if scheme in ("redis", "rediss") else None
    try:
        config = environ.Env.cache_url_config(url, backend=backend)
    except (ValueError, TypeError, ImproperlyConfigured, environ.ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"Environment variable {name} is malformed: {exc}") from exc
    for option in _CACHE_BASE_OPTIONS:
        if option.lower() in config:
            config[option] = config.pop(option.lower())
    return config


def _positive(name: str, value: float) -> float:
    if value <= 0:
        raise ImproperlyConfigured(f"Environment variable {name} must be positive, got {value!r}.")
    return value


def _rate(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ImproperlyConfigured(f"Environment variable {name} must be between 0 and 1, got {value!r}.")
    return value


def _secret_key() -> str:
    """The SECRET_KEY variable, else a key kept in `.secret_key` so that every process
    of one checkout (runserver, gunicorn workers) signs sessions alike."""
    key = _read("SECRET_KEY", env.str, "")
    if key:
        return key
    path = BASE_DIR / ".secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = _bool("DEBUG", False)
ALLOWED_HOSTS = _read("ALLOWED_HOSTS", env.list, ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = _read("CSRF_TRUSTED_ORIGINS", env.list, [])

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "django_tasks_db",
    "dashboard",
    "dashboard.index",
]

MIDDLEWARE = [
    "dashboard.logs.RequestIdMiddleware",
    # Every page's calls to Meteroid end within METEROID_REQUEST_DEADLINE_SECONDS.
    "dashboard.middleware.MeteroidDeadline",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.middleware.LoginRequired",
    "dashboard.middleware.StaleNotice",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A `Problem` raised below a view becomes its page here (dashboard/views/problems.py).
    "dashboard.views.problems.ProblemMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

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
                "dashboard.context_processors.dashboard",
            ],
        },
    },
]

DATABASES = {"default": _database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker processes share the file: readers never wait for a writer (WAL), a
    # writing transaction takes its lock at once rather than failing when it upgrades, and
    # waits up to 30 s for it (a worker's scans write side by side, a batch at a time).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
CACHES = {"default": _cache("CACHE_URL", "locmemcache://dashboard")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a login attempt while its username and address are locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "jobs"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = _read("SESSION_COOKIE_AGE", env.int, 60 * 60 * 12)

# Password guessing: after LOGIN_FAILURE_LIMIT wrong passwords for one user name from one
# address, that pair is refused for LOGIN_LOCKOUT_MINUTES (each further try restarts the
# wait). Attempts are kept in the database, so every process sees them.
AXES_FAILURE_LIMIT = int(_positive("LOGIN_FAILURE_LIMIT", _read("LOGIN_FAILURE_LIMIT", env.int, 5)))
AXES_COOLOFF_TIME = timedelta(
    minutes=_positive("LOGIN_LOCKOUT_MINUTES", _read("LOGIN_LOCKOUT_MINUTES", env.float, 15.0))
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "static/"
STATIC_ROOT = Path(_read("STATIC_ROOT", env.str, str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Collected (`collectstatic`, as the Procfile's release step and `manage.py demo` do): hashed
# names, compressed copies, cached forever by browsers. Not collected (a fresh checkout, tests):
# plain names served straight from the source folders (see dashboard/storage.py).
_COLLECTED = (STATIC_ROOT / "staticfiles.json").exists()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "dashboard.storage.StaticStorage"},
}
WHITENOISE_USE_FINDERS = not _COLLECTED
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# HTTPS-only settings, all switched on together by one variable.
SECURE_HTTPS = _bool("SECURE_HTTPS", False)
SECURE_SSL_REDIRECT = SECURE_HTTPS
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if SECURE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
if SECURE_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Load balancers probe the health endpoint over plain HTTP, inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Only the dashboard's own files: no inline script or style, no eval (htmx is configured for
# this in base.html), no frames, no plugins; htmx talks to the dashboard alone.
SECURE_CSP = {
    "default-src": [CSP.NONE],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# --- Meteroid -------------------------------------------------------------------------
# With no METEROID_API_KEY the dashboard talks to its built-in sandbox (over HTTP, on a
# loopback port of each process); with one it talks to METEROID_BASE_URL.
METEROID_API_KEY = _read("METEROID_API_KEY", env.str, "")
METEROID_BASE_URL = _read("METEROID_BASE_URL", env.url, "https://api.meteroid.com").geturl().rstrip("/")
METEROID_CONNECT_TIMEOUT = _positive(
    "METEROID_CONNECT_TIMEOUT", _read("METEROID_CONNECT_TIMEOUT", env.float, 3.05)
)
METEROID_READ_TIMEOUT = _positive("METEROID_READ_TIMEOUT", _read("METEROID_READ_TIMEOUT", env.float, 10.0))
METEROID_MAX_RETRIES = _read("METEROID_MAX_RETRIES", env.int, 3)
# The time one page (any request but a download) may spend on all its calls to Meteroid,
# retries included; past it the page shows what it has and loads the rest by itself later.
# Downloads and background scans have the client's own, longer budget.
METEROID_REQUEST_DEADLINE_SECONDS = _positive(
    "METEROID_REQUEST_DEADLINE_SECONDS", _read("METEROID_REQUEST_DEADLINE_SECONDS", env.float, 8.0)
)
# Longest Retry-After the gateway will sleep through inside one request; beyond it the
# user is told to come back later instead of waiting.
METEROID_MAX_RETRY_WAIT = _read("METEROID_MAX_RETRY_WAIT", env.float, 5.0)
# Cache lifetimes, in seconds (README, "Caching"). A completed or cancelled job never changes
# again; a failed one (or one completed with errors) can be retried and reopen at any time; an
# active one moves while people watch; the job list changes whenever a job starts or moves on.
METEROID_CACHE_TERMINAL_SECONDS = int(
    _positive("METEROID_CACHE_TERMINAL_SECONDS", _read("METEROID_CACHE_TERMINAL_SECONDS", env.int, 6 * 3600))
)
METEROID_CACHE_REOPENABLE_SECONDS = int(
    _positive("METEROID_CACHE_REOPENABLE_SECONDS", _read("METEROID_CACHE_REOPENABLE_SECONDS", env.int, 60))
)
METEROID_CACHE_ACTIVE_SECONDS = int(
    _positive("METEROID_CACHE_ACTIVE_SECONDS", _read("METEROID_CACHE_ACTIVE_SECONDS", env.int, 5))
)
METEROID_CACHE_LIST_SECONDS = int(
    _positive("METEROID_CACHE_LIST_SECONDS", _read("METEROID_CACHE_LIST_SECONDS", env.int, 10))
)
# How long a copy is kept after its lifetime, to be shown (marked as old) while Meteroid fails.
METEROID_CACHE_STALE_SECONDS = int(
    _positive("METEROID_CACHE_STALE_SECONDS", _read("METEROID_CACHE_STALE_SECONDS", env.int, 24 * 3600))
)
# Requests to Meteroid in flight at once, per process (pages, scans and files together).
METEROID_MAX_CONCURRENCY = int(
    _positive("METEROID_MAX_CONCURRENCY", _read("METEROID_MAX_CONCURRENCY", env.int, 12))
)

# --- Refresh on demand -------------------------------------------------------------------
# One person may refresh one page once per REFRESH_INTERVAL_SECONDS, and at most
# REFRESH_PER_MINUTE pages a minute.
REFRESH_INTERVAL_SECONDS = int(
    _positive("REFRESH_INTERVAL_SECONDS", _read("REFRESH_INTERVAL_SECONDS", env.int, 10))
)
REFRESH_PER_MINUTE = int(_positive("REFRESH_PER_MINUTE", _read("REFRESH_PER_MINUTE", env.int, 12)))

# --- Whole-job scans --------------------------------------------------------------------
SCAN_CONCURRENCY = int(_positive("SCAN_CONCURRENCY", _read("SCAN_CONCURRENCY", env.int, 8)))
SCAN_MAX_FAILURES = int(_positive("SCAN_MAX_FAILURES", _read("SCAN_MAX_FAILURES", env.int, 250_000)))

# --- The index and its background work ----------------------------------------------------
# Background tasks (scans of whole jobs, pruning) go through Django's tasks framework. In
# production and in the demo they are rows of the database that `manage.py index_worker`
# runs; `immediate` runs each task inside the request that enqueues it, which only a
# developer's machine may ask for (DEBUG on).
TASKS_BACKEND = _read("TASKS_BACKEND", env.str, "database").strip().lower()
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"Environment variable TASKS_BACKEND must be database or immediate, got {TASKS_BACKEND!r}."
    )
if TASKS_BACKEND == "immediate" and not DEBUG:
    raise ImproperlyConfigured(
        "Environment variable TASKS_BACKEND is immediate, which runs scans inside web requests: "
        "only with DEBUG on. Leave it unset (database) and run `manage.py index_worker`."
    )
# Scans that pages ask for go to the default queue, the backfill's to a queue of their own:
# an index worker keeps one of its scans for the first (INDEX_WORKER_SCANS).
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND], "QUEUES": ["default", "background"]}}
# Indexes of jobs are deleted this many days after they were made.
INDEX_RETENTION_DAYS = _positive("INDEX_RETENTION_DAYS", _read("INDEX_RETENTION_DAYS", env.float, 30.0))
# A scan whose worker has not said it is alive for this long is presumed dead: another worker
# takes it over (and starts it again), at most INDEX_MAX_ATTEMPTS times in all.
INDEX_LEASE_SECONDS = _positive("INDEX_LEASE_SECONDS", _read("INDEX_LEASE_SECONDS", env.float, 60.0))
INDEX_MAX_ATTEMPTS = int(_positive("INDEX_MAX_ATTEMPTS", _read("INDEX_MAX_ATTEMPTS", env.int, 3)))
# On PostgreSQL a scan writes its batches over this many connections side by side: writing a
# failure into its trigram indexes costs the server more than reading it costs the worker.
INDEX_WRITERS = int(_positive("INDEX_WRITERS", _read("INDEX_WRITERS", env.int, 2)))
# Every job created within INDEX_WINDOW_DAYS is kept indexed by the workers (the backfill),
# checked every INDEX_BACKFILL_SECONDS, whether or not a page asked for it.
INDEX_WINDOW_DAYS = _positive("INDEX_WINDOW_DAYS", _read("INDEX_WINDOW_DAYS", env.float, 30.0))
INDEX_BACKFILL_SECONDS = _positive("INDEX_BACKFILL_SECONDS", _read("INDEX_BACKFILL_SECONDS", env.float, 60.0))
# The backfill's share of the Meteroid budget: pages of failures the backfill's scans of one
# process read at once, all together (each at most SCAN_CONCURRENCY). Scans a page asked for
# come first in the queue besides.
INDEX_BACKFILL_CONCURRENCY = int(
    _positive(
        "INDEX_BACKFILL_CONCURRENCY",
        _read("INDEX_BACKFILL_CONCURRENCY", env.int, max(1, METEROID_MAX_CONCURRENCY // 2)),
    )
)
# Scans one index worker runs at once: one of them only ever takes scans that pages ask for,
# so that a page never waits behind the backfill; the others take either, pages' first.
INDEX_WORKER_SCANS = int(_positive("INDEX_WORKER_SCANS", _read("INDEX_WORKER_SCANS", env.int, 3)))
# A scan keeps each input row's identifier ("did it import?"): of customer and subscription
# imports always, of event imports whose input file is at most this large.
INDEX_INPUT_MAX_BYTES = int(
    _positive("INDEX_INPUT_MAX_BYTES", _read("INDEX_INPUT_MAX_BYTES", env.int, 20 * 1024 * 1024))
)
# Where a scan reads a job's failures (a function of the IndexedJob; tests put others).
INDEX_SOURCE = "dashboard.index.sources.meteroid_rows"

# --- Sandbox ----------------------------------------------------------------------------
# The sandbox (its URLs under /sandbox/, its loopback server, its data) exists only where the
# dashboard runs on it, or where this says so: on a real Meteroid it would be an open,
# CPU-heavy fake API beside the real one.
SANDBOX_ENABLED = _bool("SANDBOX_ENABLED", not METEROID_API_KEY)
if not SANDBOX_ENABLED and not METEROID_API_KEY:
    raise ImproperlyConfigured(
        "Environment variable SANDBOX_ENABLED is False, but without METEROID_API_KEY the "
        "dashboard runs on the sandbox: set METEROID_API_KEY, or leave SANDBOX_ENABLED unset."
    )
if SANDBOX_ENABLED:
    INSTALLED_APPS.append("dashboard.sandbox")
SANDBOX_API_KEY = _read("SANDBOX_API_KEY", env.str, "pv_sand_demo0000000000000000")
SANDBOX_LATENCY_MS = _read("SANDBOX_LATENCY_MS", env.float, 0.0)
SANDBOX_RATE_429 = _rate("SANDBOX_RATE_429", _read("SANDBOX_RATE_429", env.float, 0.0))
SANDBOX_RATE_500 = _rate("SANDBOX_RATE_500", _read("SANDBOX_RATE_500", env.float, 0.0))
SANDBOX_SEED = _read("SANDBOX_SEED", env.int, 20260325)
# Shifts the sandbox's clock (live jobs start, advance and end by it), to show a job at
# a chosen moment of its run.
SANDBOX_TIME_OFFSET_SECONDS = _read("SANDBOX_TIME_OFFSET_SECONDS", env.float, 0.0)
# The day (UTC) the sandbox's catalogue of ended jobs ends on: its jobs were made in the four
# weeks before. Fixed by default, so that every process and test agrees on them; `manage.py
# demo` sets it to the day it starts, so that the demo's jobs stay within the index's window.
SANDBOX_CATALOGUE_ENDS = _read(
    "SANDBOX_CATALOGUE_ENDS",
    lambda name, default: date.fromisoformat(env.str(name, default=default)),
    "2026-11-28",
)

if METEROID_MAX_RETRIES < 0:
    raise ImproperlyConfigured("Environment variable METEROID_MAX_RETRIES must be 0 or more.")

LOG_FORMAT = _read("LOG_FORMAT", env.str, "plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"Environment variable LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "dashboard.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "dashboard.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": _read("LOG_LEVEL", env.str, "INFO")},
    # django-axes logs every login at INFO; failures and lockouts come at WARNING.
    "loggers": {"django.server": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
