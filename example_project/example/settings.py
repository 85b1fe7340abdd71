"""Example project settings: the embedded default (SQLite + LocMemCache).

Production shape: set ``DATABASE_URL=postgres://...`` and
``REDIS_URL=redis://127.0.0.1:6379/0`` (Django's built-in RedisCache, as
``django_apikeys.cache_backends.RedisCache``: the same, reusing its client).
Profiles in ``example/profiles/`` configure the app like each reference API.
"""

from __future__ import annotations

import os
from pathlib import Path

import django
from corsheaders.defaults import default_headers

from django_apikeys.oauth.conf import OAUTH2_PROVIDER_DEFAULTS
from example.dburl import database_from_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
# Error reports (debug page, e-mails to ADMINS) without API keys in them.
DEFAULT_EXCEPTION_REPORTER_FILTER = "django_apikeys.debug.APIKeyExceptionReporterFilter"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_apikeys",
    "oauth2_provider",  # OAuth 2.0 for third-party apps (django-apikeys[oauth])
    "django_apikeys.oauth",
    # CORS for publishable keys (django-apikeys[cors], docs/cors.rst).
    "corsheaders",
    "django_apikeys.cors",
    "example.api",
]

MIDDLEWARE = [
    # First: its pre-flight answers and CORS headers reach every response (docs/cors.rst).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_apikeys.middleware.RateLimitHeadersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example.urls"
WSGI_APPLICATION = "example.wsgi.application"
ASGI_APPLICATION = "example.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}

REDIS_URL = os.environ.get("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, reusing one Redis client (docs/deployment.rst).
            "BACKEND": "django_apikeys.cache_backends.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that accepts connections but never answers (stopped,
            # partitioned) must not hang requests: give up after a second
            # (half a second to connect).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "django_apikeys.backends.OrganizationRoleBackend",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT access tokens first: it passes key-shaped values on to the key class.
        "django_apikeys.oauth.authentication.OAuthTokenAuthentication",
        "django_apikeys.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["django_apikeys.throttling.APIKeyRateThrottle"],
    "EXCEPTION_HANDLER": "django_apikeys.exceptions.exception_handler",
    # The app's credentials, scopes and error responses in the OpenAPI schema.
    "DEFAULT_SCHEMA_CLASS": "django_apikeys.openapi.AutoSchema",
}

# /api/schema/ (OpenAPI 3.1: scopes on the key schemes), /api/docs/ (Swagger
# UI) and /api/redoc/ with the assets of drf-spectacular-sidecar: no CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "django-apikeys example API",
    "DESCRIPTION": (
        "The example API (clients, invoices, products, ...) and the key-management API "
        "(/api/manage/). Authenticate with an API key (Authorization: Bearer or X-API-Key) "
        "or, in the browser, a dashboard session."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# The default key types server (sk), user (uk) and publishable (pk), the last
# narrowed to the browser-safe endpoints; the example API's scopes are offered
# in the dashboard's scope grid.
EXAMPLE_SCOPES = [
    f"{resource}:{action}"
    for resource in ("clients", "invoices", "products", "reports")
    for action in ("read", "write")
]
# The management API's scopes (django_apikeys.api.permissions.MANAGEMENT_SCOPES).
MANAGEMENT_SCOPES = [
    "organizations:read",
    "api_keys:read",
    "api_keys:write",
    "members:read",
    "members:write",
    "usage:read",
    "audit:read",
]
APIKEYS: dict[str, object] = {
    "SCOPE_VOCABULARY": EXAMPLE_SCOPES + MANAGEMENT_SCOPES,
    # OAuth access tokens share the Bearer header: non-key values are theirs.
    "CLAIM_ALL_BEARER_TOKENS": False,
    "KEY_TYPES": {
        "server": {"prefix": "sk", "label": "Server"},
        "user": {"prefix": "uk", "owner": "user", "label": "User"},
        "publishable": {
            "prefix": "pk",
            "publishable": True,
            "label": "Publishable",
            "scopes": ["assess", "products:read"],
            "rate_limit_per_minute": 60,
            "rate_limit_per_day": 10_000,
        },
    },
}

# OAuth 2.0 for third-party apps: django-oauth-toolkit as the authorization
# server, JWT access tokens signed with a TEST-ONLY key shipped in the repo
# (example/oauth_keys/: never use these keys anywhere real).
OAUTH2_PROVIDER = {**OAUTH2_PROVIDER_DEFAULTS}
OAUTH_KEYS = BASE_DIR / "example" / "oauth_keys"
APIKEYS_OAUTH = {
    "ISSUER": os.environ.get("OAUTH_ISSUER", "http://127.0.0.1:8000"),
    "SIGNING_KEYS": [
        {"kid": "demo-2026-a", "private_key_file": str(OAUTH_KEYS / "demo-2026-a.pem")}
    ],
}

# Which key types each example endpoint admits (see example/api/views.py);
# "oauth" is the credential kind of OAuth access tokens.
EXAMPLE_API = {
    "server_types": ["server", "user", "session", "oauth"],
    "browser_types": ["publishable", "server"],
    "ingest_types": ["server"],
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
LOGIN_URL = "/accounts/login/"
# Invitation e-mails (dashboard "Invitations") go to the console in the demo;
# set EMAIL_BACKEND and its EMAIL_* settings for a real mail server.
_EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
if django.VERSION >= (6, 1):
    # Django 6.1 configures mail with MAILERS; EMAIL_BACKEND is deprecated there.
    MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND}}
else:
    EMAIL_BACKEND = _EMAIL_BACKEND
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "apikeys@localhost")
LOGIN_REDIRECT_URL = "/apikeys/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# CORS for browser keys (docs/cors.rst): no origin is listed here; the
# cross-origin requests allowed are those to endpoints that take publishable
# keys, from an origin some active publishable key lists. The key headers
# must be allowed in pre-flights (Authorization is in the defaults).
CORS_ALLOW_HEADERS = (*default_headers, "x-api-key")
# Let front-end code read the rate-limit headers of cross-origin answers.
CORS_EXPOSE_HEADERS = [
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]
