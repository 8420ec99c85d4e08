"""Settings, read from the environment through ``qa_site.env`` (see ``.env.example``)."""

from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from qa_site.env import env_bool, env_float, env_int, env_list, env_str, site_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("QA_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", True)


def _secret_key() -> str:
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0")
    # A development default: generated once per checkout, kept out of git under var/.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
SITE_URL = site_url()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "qa_site",  # registers the database version check (qa_site/apps.py)
    "django_tasks",
    "django_tasks_db",
    "apps.knowledge",
    "apps.modelapi",
    "apps.localmodels",
    "apps.search",
    "apps.chat",
    "apps.sources",
    "apps.evaluation",
    "apps.accounts",
    "apps.sso",  # sign-in with the identity provider (OpenID Connect)
    "apps.api",
    "ninja",  # the API docs page (Swagger UI) from its own static files, not a CDN
    "apps.operations",
    "apps.insight",
    "axes",
]

MIDDLEWARE = [
    # First: every response (errors too) gets an X-Request-ID and a latency sample.
    "apps.operations.middleware.RequestIdMiddleware",
    "apps.operations.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A database that is down or restarting: 503 with a sentence, not a 500.
    "qa_site.unavailable.DatabaseUnavailableMiddleware",
    # Serves the collected static files (`manage.py collectstatic`) when DEBUG=0.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy on every response: only our own scripts, styles and images
# (no inline script, no remote image ever loaded from an answer), no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

ROOT_URLCONF = "qa_site.urls"
WSGI_APPLICATION = "qa_site.wsgi.application"
ASGI_APPLICATION = "qa_site.asgi.application"

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
            ],
        },
    },
]

# --- Database: DATABASE_URL, or the embedded PostgreSQL 18 + pgvector 0.8 under var/ ---
# Either must be PostgreSQL >= 16 with pgvector >= 0.8.0 (checked at start: qa_site/database_check.py).
# An embedded var/pgdata from PostgreSQL 16 is moved to 18 on first start (qa_site/embedded_upgrade.py).
DATABASE_URL = env_str("DATABASE_URL")
DATABASES: dict[str, Any]
if DATABASE_URL:
    # Persistent connections are checked before reuse: after a database restart the next
    # request gets a new connection instead of the dead one's error.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    from qa_site.embedded_db import embedded_database_settings

    DATABASES = {
        "default": embedded_database_settings(
            VAR_DIR / "pgdata", env_str("EMBEDDED_DB_NAME", "qa_site")
        )
    }
# Parallel test runs on one embedded server need distinct test databases.
if TEST_DATABASE_NAME := env_str("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": TEST_DATABASE_NAME}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user name
# from one address, that pair is refused (even with the right password) for the cool-off time.
AUTHENTICATION_BACKENDS = [
    "qa_site.auth_backends.ThrottlingBackend",
    "django.contrib.auth.backends.ModelBackend",
    # OpenID Connect sign-in; authenticates only the provider's callback (apps/sso/backend.py).
    "apps.sso.backend.OidcBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("AXES_COOLOFF_MINUTES", 15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:ask"
LOGOUT_REDIRECT_URL = "login"

# --- The HTTP API (/api/v1/, apps/api): questions per minute asked with API tokens ---
# Per token, and for all tokens of one user together; 0 turns a limit off. Counted in
# PostgreSQL, so the limit holds across gunicorn's processes.
API_ASK_RATE_PER_MINUTE = env_int("API_ASK_RATE_PER_MINUTE", 20)
API_ASK_USER_RATE_PER_MINUTE = env_int("API_ASK_USER_RATE_PER_MINUTE", 30)

# --- Sign-in with the identity provider: OpenID Connect (apps/sso), in its own module ---
from qa_site.settings_oidc import *  # noqa: E402, F403

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing one
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Where `manage.py backup` (`make backup`) writes its archives unless given --output.
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(VAR_DIR / "backups")))
MEDIA_URL = "/media-not-served/"  # originals are served only through a permission-checked view

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Production transport security; each defaults to on when DJANGO_DEBUG=0
# (`manage.py check --deploy` passes then; see .env.example).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# The local provider serves loopback callers over plain HTTP, and probes and scrapers reach
# /healthz, /readyz and /metrics directly: none of them is redirected.
SECURE_REDIRECT_EXEMPT = [r"^local/", r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not DEBUG)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (only such a proxy may reach us).
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# --- Ingestion: a model-server failure that may pass is retried later, this many times in all ---
INGEST_MAX_ATTEMPTS = env_int("INGEST_MAX_ATTEMPTS", 5)
INGEST_RETRY_BASE_SECONDS = env_int("INGEST_RETRY_BASE_SECONDS", 30)
# A document "processing" without a heartbeat for this long lost its worker and is taken again.
INGEST_LEASE_SECONDS = env_int("INGEST_LEASE_SECONDS", 300)

# --- Uploads ---
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 25 * 1024 * 1024)
MAX_FILES_PER_UPLOAD = env_int("MAX_FILES_PER_UPLOAD", 50)
MAX_URLS_PER_UPLOAD = env_int("MAX_URLS_PER_UPLOAD", 50)
ARCHIVE_MAX_MEMBERS = env_int("ARCHIVE_MAX_MEMBERS", 500)
ARCHIVE_MAX_EXPANDED_BYTES = env_int("ARCHIVE_MAX_EXPANDED_BYTES", 200 * 1024 * 1024)
# Extraction runs in a child process under these limits.
EXTRACT_TIMEOUT_SECONDS = env_float("EXTRACT_TIMEOUT_SECONDS", 60.0)
EXTRACT_MEMORY_MB = env_int("EXTRACT_MEMORY_MB", 1024)
# The viewer draws PDF pages and finds passages on them in that child too, within this time.
VIEWER_RENDER_TIMEOUT_SECONDS = env_float("VIEWER_RENDER_TIMEOUT_SECONDS", 20.0)
# Insight: a reranked answer whose best passage scored below this is unanswered (the local
# reranker's scale; set it for another's). Unreranked answers are judged by their citations.
INSIGHT_WEAK_RERANK_SCORE = env_float("INSIGHT_WEAK_RERANK_SCORE", 0.3)
# OCR (Tesseract) of images and PDF pages without a text layer, inside that child; scans and
# images get OCR_TIMEOUT_SECONDS on top of EXTRACT_TIMEOUT_SECONDS (one budget per document).
OCR_LANGUAGES = env_str("OCR_LANGUAGES", "eng")  # Tesseract codes joined by "+": "eng+deu"
OCR_DPI = env_int("OCR_DPI", 300)  # PDF pages are rendered at this resolution
OCR_MAX_PAGES = env_int("OCR_MAX_PAGES", 100)  # pages (or TIFF frames) OCR'd per document
OCR_MAX_PIXELS = env_int("OCR_MAX_PIXELS", 50_000_000)  # a bigger image is refused undecoded
OCR_TIMEOUT_SECONDS = env_float("OCR_TIMEOUT_SECONDS", 600.0)
OCR_TESSERACT_CMD = env_str("OCR_TESSERACT_CMD", "tesseract")
# Office files: bigger sheets / files are cut at these limits, with a note in the text.
SPREADSHEET_MAX_ROWS = env_int("SPREADSHEET_MAX_ROWS", 50_000)  # rows of one sheet
SPREADSHEET_MAX_CELLS = env_int("SPREADSHEET_MAX_CELLS", 2_000_000)  # cells of one workbook
OFFICE_MAX_PARTS = env_int("OFFICE_MAX_PARTS", 1_000)  # sheets, slides or chapters of one file
# E-mail (.eml, .msg): deeper nesting, more parts or attachments are cut with a note; all
# attachments of one e-mail together decode to at most ARCHIVE_MAX_EXPANDED_BYTES.
MAIL_MAX_DEPTH = env_int("MAIL_MAX_DEPTH", 10)  # multipart nesting; e-mails attached to e-mails
MAIL_MAX_PARTS = env_int("MAIL_MAX_PARTS", 1_000)  # MIME parts read of one e-mail
MAIL_MAX_ATTACHMENTS = env_int("MAIL_MAX_ATTACHMENTS", 100)  # attachments indexed per e-mail
# URL ingestion: size and time caps; private addresses are always refused.
URL_FETCH_MAX_BYTES = env_int("URL_FETCH_MAX_BYTES", 10 * 1024 * 1024)
URL_FETCH_TIMEOUT_SECONDS = env_float("URL_FETCH_TIMEOUT_SECONDS", 20.0)
URL_FETCH_MAX_REDIRECTS = env_int("URL_FETCH_MAX_REDIRECTS", 5)
# host:port pairs that may be fetched although private (an intranet wiki; tests). Empty by default.
URL_FETCH_ALLOWED_PRIVATE_HOSTS = env_list("URL_FETCH_ALLOWED_PRIVATE_HOSTS", [])

# --- Site sources (apps/sources): crawl limits and the re-sync schedule, defaults per source ---
SOURCES_DEFAULT_MAX_PAGES = env_int("SOURCES_DEFAULT_MAX_PAGES", 200)
SOURCES_DEFAULT_MAX_DEPTH = env_int("SOURCES_DEFAULT_MAX_DEPTH", 3)
SOURCES_DEFAULT_EVERY_HOURS = env_int("SOURCES_DEFAULT_EVERY_HOURS", 24)
# The most pages one source may be given (the form and `add_site --max-pages` refuse more).
SOURCES_MAX_PAGES_LIMIT = env_int("SOURCES_MAX_PAGES_LIMIT", 10_000)
# Polite pause between two requests to one host; a robots.txt Crawl-delay may ask for more,
# up to SOURCES_MAX_CRAWL_DELAY_SECONDS.
SOURCES_CRAWL_DELAY_SECONDS = env_float("SOURCES_CRAWL_DELAY_SECONDS", 1.0)
SOURCES_MAX_CRAWL_DELAY_SECONDS = env_float("SOURCES_MAX_CRAWL_DELAY_SECONDS", 30.0)
# A sync whose heartbeat (one per page) is older than this lost its worker: it may be run again.
SOURCES_SYNC_LEASE_SECONDS = env_int("SOURCES_SYNC_LEASE_SECONDS", 600)
# How often the sweep runs: single URL documents join the schedule, lost sync tasks come back.
SOURCES_SWEEP_MINUTES = env_int("SOURCES_SWEEP_MINUTES", 60)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Model API: embeddings, reranking, chat, transcription (in its own module) ---
from qa_site.settings_models import *  # noqa: E402, F403

# --- Retrieval ---
RETRIEVAL_CANDIDATES = env_int("RETRIEVAL_CANDIDATES", 40)
RETRIEVAL_TOP_N = env_int("RETRIEVAL_TOP_N", 6)
# Earlier turns sent with a follow-up question (estimated tokens, oldest dropped first).
CHAT_HISTORY_TOKENS = env_int("CHAT_HISTORY_TOKENS", 2000)
RRF_K = env_int("RRF_K", 60)
# Weights of the two halves in the reciprocal-rank fusion (BENCHMARKS.md: bench/bm25_params.py).
RRF_VECTOR_WEIGHT = env_float("RRF_VECTOR_WEIGHT", 1.0)
RRF_TEXT_WEIGHT = env_float("RRF_TEXT_WEIGHT", 1.0)
# BM25 of the lexical half: term-frequency saturation and length normalisation (BENCHMARKS.md).
BM25_K1 = env_float("BM25_K1", 1.2)
BM25_B = env_float("BM25_B", 0.75)
HNSW_EF_SEARCH = env_int("HNSW_EF_SEARCH", 100)
# How far an iterative HNSW scan may walk for a user who may read few bases (pgvector's default).
HNSW_MAX_SCAN_TUPLES = env_int("HNSW_MAX_SCAN_TUPLES", 20000)
# Up to this many readable chunks, vectors are ranked exactly instead of through HNSW.
EXACT_SEARCH_MAX_ROWS = env_int("EXACT_SEARCH_MAX_ROWS", 10000)

# --- Chunking ---
# all-MiniLM-L6-v2 reads at most 256 word pieces: chunks of ~200 tokens fit whole.
CHUNK_TARGET_TOKENS = env_int("CHUNK_TARGET_TOKENS", 200)
CHUNK_OVERLAP_TOKENS = env_int("CHUNK_OVERLAP_TOKENS", 40)
# A chunk is never longer than this many characters, whatever its token estimate (a 3 MB token,
# a whitespace run, base64): far under the local provider's 200,000 characters per input.
CHUNK_MAX_CHARS = env_int("CHUNK_MAX_CHARS", 4000)

# --- What operators need: health, metrics, logs (apps/operations) ---
# /healthz and /readyz need no setting; /readyz wants a worker heartbeat this recent (the
# worker beats at start and every min(60, INGEST_LEASE_SECONDS / 2) s) and model servers
# that answer within the timeout.
READYZ_WORKER_MAX_AGE_SECONDS = env_int("READYZ_WORKER_MAX_AGE_SECONDS", 180)
READYZ_MODEL_TIMEOUT_SECONDS = env_float("READYZ_MODEL_TIMEOUT_SECONDS", 2.0)
# /metrics is off (404) unless METRICS_ENABLED; then open to these addresses/networks (the
# peer's address, no forwarded header trusted) or to `Authorization: Bearer <token>`.
METRICS_ENABLED = env_bool("METRICS_ENABLED", False)
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
METRICS_BEARER_TOKEN = env_str("METRICS_BEARER_TOKEN")
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_network!r} is no address") from _exc
# Set (and emptied at start) by `make serve`: gunicorn's workers and the ingestion worker
# keep their metrics there and a scrape adds them up (prometheus-client multiprocess mode).
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
# Log lines as JSON objects or text, each with its request id; one line per request.
LOG_FORMAT = env_str("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, got {LOG_FORMAT!r}")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").strip().upper()
LOG_REQUESTS = env_bool("LOG_REQUESTS", True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.operations.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "apps.operations.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    # Other libraries' warnings; this app's and Django's lines at LOG_LEVEL.
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "apps": {"level": env_str("APP_LOG_LEVEL", LOG_LEVEL)},
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # runserver's own request lines: apps.operations.requests writes one already.
        "django.server": {
            "handlers": [],
            "level": "WARNING" if LOG_REQUESTS else "INFO",
            "propagate": True,
        },
    },
}
DEMO_PASSWORD = env_str("DEMO_PASSWORD")
# groq | cohere | tei | auto (probe once per server and remember).
RERANK_DIALECT = env_str("RERANK_DIALECT", "auto")
# documents: Groq's `documents` + annotations; prompt: numbered passages and [n] markers;
# auto: documents for Groq and the local provider, prompt for other servers.
CITATION_MODE = env_str("CITATION_MODE", "auto")
