"""cmsportal settings: every value comes from the environment.

DATABASE_URL          database (default: SQLite file db.sqlite3 beside manage.py)
DJANGO_SECRET_KEY     secret key (default: a random key kept in .secret_key, created on first use)
DJANGO_DEBUG          1/true to enable debug mode (default: off)
DJANGO_ALLOWED_HOSTS  comma-separated host names (default: 127.0.0.1,localhost,testserver)
REDIS_URL             optional cache (default: local memory)
CMS_TOKEN_LIFETIME    API token lifetime in seconds (default: 86400)
CMS_TOKEN_CACHE_SECONDS  how long a worker may remember a valid API token between calls on PostgreSQL; any
                      revocation or user/permission change forgets them all at its commit, in every worker
                      (default: 60; 0 checks the token with a query on every call, as SQLite and
                      CMS_PREPARED_STATEMENTS=0 always do: cmsportal/identity/tokencache.py)
CMS_SIGNIN_FAILURE_RATE  failed sign-ins (POST /v2.0/tokens, the sign-in pages) allowed per username and
                      address pair and per address, e.g. 20/min (default: CMS_TOKEN_FAILURE_RATE, else 20/min)
CMS_TRUSTED_PROXIES   how many proxies in front append to X-Forwarded-For (default: 0, the peer is the client)
DJANGO_HSTS_INCLUDE_SUBDOMAINS, DJANGO_HSTS_PRELOAD  with DJANGO_HTTPS (default: on)
CMS_DB_CONNECT_TIMEOUT  seconds to wait for PostgreSQL to accept a connection (default: 3)
CMS_PREPARED_STATEMENTS  0 to stop preparing the per-request API queries on PostgreSQL (default: on;
                      turn it off behind a connection pooler in transaction mode that cannot keep them)
DATABASE_REPLICA_URLS  comma-separated PostgreSQL read replicas (streaming standbys of DATABASE_URL), used as
                      replica1, replica2, ... by cmsportal/replicas.py (default: none, everything on the primary)
CMS_REPLICA_MAX_LAG_SECONDS  a replica further behind than this is skipped until it catches up (default: 10)
CMS_REPLICA_CHECK_SECONDS  how often each worker checks a replica's reachability and lag (default: 3)
CMS_READ_YOUR_WRITES_SECONDS  a client (session or API token) that wrote reads from the primary this long
                      afterwards (default: 5)
CMS_DB_POOL           MIN:MAX (or MAX) connections per worker process in a psycopg pool for PostgreSQL, the primary
                      and each replica alike (default: off, one persistent connection per thread, DJANGO_CONN_MAX_AGE)
CMS_DB_POOL_TIMEOUT   seconds a request waits for a pooled connection (default: CMS_DB_CONNECT_TIMEOUT)
"""

import copy
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "BASE_DIR",
    "env_bool",
    "env_list",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "INSTALLED_APPS",
    "MIDDLEWARE",
    "ROOT_URLCONF",
    "WSGI_APPLICATION",
    "TEMPLATES",
    "DATABASES",
    "CMS_PREPARED_STATEMENTS",
    "CMS_DB_POOL",
    "CMS_REPLICAS",
    "DATABASE_ROUTERS",
    "CMS_REPLICA_MAX_LAG_SECONDS",
    "CMS_REPLICA_CHECK_SECONDS",
    "CMS_READ_YOUR_WRITES_SECONDS",
    "DEFAULT_AUTO_FIELD",
    "AUTH_PASSWORD_VALIDATORS",
    "LOGIN_URL",
    "LOGIN_REDIRECT_URL",
    "LOGOUT_REDIRECT_URL",
    "LANGUAGE_CODE",
    "TIME_ZONE",
    "USE_I18N",
    "USE_TZ",
    "STATIC_URL",
    "STATICFILES_DIRS",
    "STATIC_ROOT",
    "STORAGES",
    "WHITENOISE_USE_FINDERS",
    "SESSION_ENGINE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS",
    "CMS_CONTENT_SECURITY_POLICY",
    "REST_FRAMEWORK",
    "SPECTACULAR_SETTINGS",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "CMS_TOKEN_LIFETIME",
    "CMS_TOKEN_CACHE_SECONDS",
    "CMS_TOKEN_FAILURE_RATE",
    "CMS_SIGNIN_FAILURE_RATE",
    "CMS_SIGNIN_REDIS_URL",
    "CMS_TRUSTED_PROXIES",
    "AUTHENTICATION_BACKENDS",
    "LOGGING",
]

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    key = os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    # No key configured: keep a random one beside the project so sessions survive restarts.
    path = BASE_DIR / ".secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "cmsportal",
    "cmsportal.identity",
    "cmsportal.changes",
    "accounts",
    "contacts",
    "metadata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cmsportal.headers.SecurityHeadersMiddleware",  # Content-Security-Policy; the API's answers are not cached
    "cmsportal.outage.OutageMiddleware",  # the database away: 503, wherever the request failed
    "cmsportal.replicas.ReplicaMiddleware",  # which database a request reads from; read-your-writes
    "cmsportal.api.faults.FaultMiddleware",
    "cmsportal.inputguard.InputGuardMiddleware",
    # cmsportal.browsermiddleware: WhiteNoise's and Django's middleware of these names, stepped over by API calls
    # that carry an X-Auth-Token and no cookie (they use no session, messages or static files). CSRF stays
    # Django's own for every request (its views exempt the API's; `check --deploy` looks for it by name).
    "cmsportal.browsermiddleware.WhiteNoiseMiddleware",
    "cmsportal.browsermiddleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "cmsportal.browsermiddleware.AuthenticationMiddleware",
    "cmsportal.changes.context.ChangeContextMiddleware",  # request id and actor of the change records
    "cmsportal.browsermiddleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cmsportal.urls"
WSGI_APPLICATION = "cmsportal.wsgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that needs no round trip (cmsportal/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "cmsportal.postgresql"
    # An unreachable server fails the request (503, cmsportal/outage.py) in seconds instead of holding it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("CMS_DB_CONNECT_TIMEOUT", "3"))
    )
CMS_PREPARED_STATEMENTS = env_bool("CMS_PREPARED_STATEMENTS", True)
CMS_TOKEN_CACHE_SECONDS = float(os.environ.get("CMS_TOKEN_CACHE_SECONDS", "60"))
if DATABASES["default"]["ENGINE"] == "cmsportal.postgresql" and CMS_PREPARED_STATEMENTS:
    # Django turns psycopg's statement preparation off (prepare_threshold None). Its own cursors bind
    # parameters on the client and never prepare either way; a threshold lets the cursors of
    # cmsportal/api/precompiled.py prepare the per-request API queries.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
CMS_DB_POOL = os.environ.get("CMS_DB_POOL", "").strip()
if DATABASES["default"]["ENGINE"] == "cmsportal.postgresql" and CMS_DB_POOL:
    # Django's psycopg pool: each worker process keeps MIN..MAX open connections that its threads borrow for a
    # request and give back after it; it replaces persistent connections (CONN_MAX_AGE must be 0).
    try:
        _min, _, _max = CMS_DB_POOL.rpartition(":")
        _pool = {"min_size": int(_min or 1), "max_size": int(_max)}
    except ValueError:
        raise ImproperlyConfigured(f"CMS_DB_POOL must be MIN:MAX or MAX, not {CMS_DB_POOL!r}") from None
    if not 0 <= _pool["min_size"] <= _pool["max_size"] or _pool["max_size"] < 1:
        raise ImproperlyConfigured(f"CMS_DB_POOL must have 0 <= MIN <= MAX and MAX >= 1, not {CMS_DB_POOL!r}")
    # A request waits this long for a connection, then fails with the 503 of cmsportal/outage.py.
    _pool["timeout"] = float(
        os.environ.get("CMS_DB_POOL_TIMEOUT") or DATABASES["default"]["OPTIONS"]["connect_timeout"] or 3
    )
    DATABASES["default"]["OPTIONS"]["pool"] = _pool
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# Read replicas: replica1, replica2, ... with the primary's engine and options; their test databases are the
# primary's (TEST MIRROR). Which reads go where: cmsportal/replicas.py.
CMS_REPLICAS = []
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS", ""), start=1):
    if DATABASES["default"]["ENGINE"] != "cmsportal.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs PostgreSQL: set DATABASE_URL=postgres://...")
    _parsed = dj_database_url.parse(_url)
    _replica = copy.deepcopy(DATABASES["default"])
    _replica.update({key: _parsed[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT") if key in _parsed})
    _replica["OPTIONS"].update(_parsed.get("OPTIONS", {}))
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{_number}"] = _replica
    CMS_REPLICAS.append(f"replica{_number}")
DATABASE_ROUTERS = ["cmsportal.replicas.ReplicaRouter"] if CMS_REPLICAS else []
CMS_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("CMS_REPLICA_MAX_LAG_SECONDS", "10"))
CMS_REPLICA_CHECK_SECONDS = float(os.environ.get("CMS_REPLICA_CHECK_SECONDS", "3"))
CMS_READ_YOUR_WRITES_SECONDS = float(os.environ.get("CMS_READ_YOUR_WRITES_SECONDS", "5"))

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the pages read while an import writes; a busy timeout instead of "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("CMS_MANIFEST_STATIC", True) and (STATIC_ROOT / "staticfiles.json").exists()
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not (STATIC_ROOT / "staticfiles.json").exists()

SESSION_ENGINE = "cmsportal.identity.sessions"  # Django's database sessions, read by a precompiled query
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG and env_bool("DJANGO_HTTPS"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("DJANGO_HTTPS"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe the backend over plain HTTP
CMS_CONTENT_SECURITY_POLICY = os.environ.get("CMS_CONTENT_SECURITY_POLICY") or None

# The CMS API: renderers, parsers, authentication, faults and pagination live in cmsportal/api and
# cmsportal/identity; views only declare what they serve.
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "cmsportal.api.renderers.CMSJSONRenderer",
        "cmsportal.api.renderers.CMSXMLRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "cmsportal.api.parsers.CMSJSONParser",
        "cmsportal.api.parsers.CMSXMLParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cmsportal.identity.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "cmsportal.api.negotiation.CMSContentNegotiation",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "cmsportal.api.faults.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # The format is chosen by the path suffix (.json, .xml) or Accept, never by a `?format=` parameter.
    "URL_FORMAT_OVERRIDE": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "cmsportal: Customer Management Service API",
    "DESCRIPTION": "Customers, accounts, contacts and metadata, in JSON and XML.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name (`type`: an account's, an actor's) keep stable component names.
    "ENUM_NAME_OVERRIDES": {
        "TypeEnum": "accounts.models.AccountType.values",
        "UsertypeEnum": "accounts.models.UserType.values",
    },
    # No deep links: Swagger UI puts each as a link inside the operation's toggle button, a nested control
    # that keyboard and screen reader users cannot reach (axe: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
}

# The largest request body accepted (API bodies and forms alike), in bytes; larger is 413 overLimit.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("CMS_MAX_BODY_SIZE", str(2_621_440)))

CMS_TOKEN_LIFETIME = int(os.environ.get("CMS_TOKEN_LIFETIME", "86400"))
# Failed sign-ins allowed per (username, client address) pair and per address (cmsportal/identity/throttling.py).
CMS_TOKEN_FAILURE_RATE = os.environ.get("CMS_TOKEN_FAILURE_RATE", "20/min")
CMS_SIGNIN_FAILURE_RATE = os.environ.get("CMS_SIGNIN_FAILURE_RATE") or CMS_TOKEN_FAILURE_RATE
CMS_SIGNIN_REDIS_URL = os.environ.get("REDIS_URL") or None
CMS_TRUSTED_PROXIES = int(os.environ.get("CMS_TRUSTED_PROXIES", "0"))
AUTHENTICATION_BACKENDS = ["cmsportal.identity.backends.LimitedModelBackend"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
