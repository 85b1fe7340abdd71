"""Django settings for the benchmark: every contender installed side by side.

``BENCH_DATABASE_URL`` picks the database (``sqlite:///path`` or
``postgres://...``), ``BENCH_REDIS_URL`` the cache (Redis, as deployed);
``BENCH_KEY_CACHE`` (seconds) turns django-apikeys' lookup cache on for the
HTTP server that serves contender (f). Connections persist
(``CONN_MAX_AGE = None``) as they do behind any production pool, so no
contender pays a connection per request.

On PostgreSQL every contender runs with Django's default database settings
(client-side binding: django-apikeys prepares its own lookup, see
``docs/performance.rst``); ``BENCH_PG_PREPARE=1`` turns on server-side
binding and psycopg's prepared statements for every contender (``bench/run.sh``
measures both).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

# The example project's DATABASE_URL reader (sqlite:///path, postgres://...).
sys.path.append(str(Path(__file__).resolve().parent.parent / "example_project"))
from example.dburl import database_from_url  # noqa: E402

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "bench.urls"
WSGI_APPLICATION = "bench.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_api_key",
    "knox",
    "django_apikeys",
    "oauth2_provider",
    "django_apikeys.oauth",
]

# What an API-only site runs; the same for every contender.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

DATABASES = {
    "default": {
        **database_from_url(
            os.environ.get("BENCH_DATABASE_URL", "sqlite:////tmp/apikeys-bench.sqlite3")
        ),
        "CONN_MAX_AGE": None,
    }
}
if DATABASES["default"]["ENGINE"].endswith("postgresql") and os.environ.get(
    "BENCH_PG_PREPARE", "0"
) not in ("", "0"):
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}

# Redis as deployed (bench.run starts a private redis-server and sets
# BENCH_REDIS_URL); LocMemCache when redis-server is not installed. The backend
# is django_apikeys.cache_backends.RedisCache (Django's, reusing its client: see
# docs/deployment.rst); BENCH_DJANGO_REDIS=1 measures Django's own.
CACHES = {
    "default": (
        {
            "BACKEND": (
                "django.core.cache.backends.redis.RedisCache"
                if os.environ.get("BENCH_DJANGO_REDIS", "") not in ("", "0")
                else "django_apikeys.cache_backends.RedisCache"
            ),
            "LOCATION": os.environ["BENCH_REDIS_URL"],
        }
        if os.environ.get("BENCH_REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "django_apikeys.exceptions.exception_handler",
    # (b-throttle): DRF's UserRateThrottle on the same Redis, a rate that never
    # trips; per second so that its history (one timestamp per request in the
    # window) stays as short as a busy client's would be.
    "DEFAULT_THROTTLE_RATES": {"user": "1000000000/s"},
}

# django-apikeys counts every request of its credentials (limits, metering)
# whatever the view's throttles: on for (g) only (BENCH_COUNTERS, or
# bench.run.configure in process), so that the other contenders measure
# authentication alone.
COUNTERS = os.environ.get("BENCH_COUNTERS", "") not in ("", "0")
from django_apikeys.conf import DEFAULTS as APIKEYS_DEFAULTS  # noqa: E402
from django_apikeys.conf import KEY_TYPE_DEFAULTS  # noqa: E402

# Member-scoped user keys (e‴a, e‴b) where the package has them: bench/steps.sh
# runs this file against earlier commits' packages, which refuse the option.
MEMBER_KEYS = "tenancy" in KEY_TYPE_DEFAULTS

RATELIMIT_ENABLE = COUNTERS
APIKEYS: dict[str, Any] = {
    "KEY_CACHE_TIMEOUT": int(os.environ.get("BENCH_KEY_CACHE", "0")),
    "METERING": COUNTERS,
    # Limits high enough never to trip: (g) measures the cost of counting
    # (per key: minute, day, month; per organization: the plan's, the same).
    "DEFAULT_RATE_LIMIT_PER_MINUTE": 1_000_000_000,
    "DEFAULT_RATE_LIMIT_PER_DAY": 1_000_000_000,
    "DEFAULT_RATE_LIMIT_PER_MONTH": 1_000_000_000,
}
if MEMBER_KEYS:
    # The default key types plus a member-scoped user key type (e‴a, e‴b): it
    # acts in any organization its owner belongs to, named in the URL.
    APIKEYS["KEY_TYPES"] = {
        **APIKEYS_DEFAULTS["KEY_TYPES"],
        "member": {"prefix": "mk", "owner": "user", "tenancy": "member", "label": "Member"},
    }

REST_KNOX = {"AUTO_REFRESH": False}

# OAuth JWTs (contenders h, h-cache) beside django-oauth-toolkit's own
# OAuth2Authentication on its opaque tokens (contender i).
from django_apikeys.oauth.conf import OAUTH2_PROVIDER_DEFAULTS  # noqa: E402

OAUTH2_PROVIDER = {**OAUTH2_PROVIDER_DEFAULTS}
APIKEYS_OAUTH = {
    "ISSUER": "http://bench",
    "SIGNING_KEYS": [
        {
            "kid": "bench",
            "private_key_file": str(
                Path(__file__).resolve().parent.parent
                / "example_project/example/oauth_keys/demo-2026-a.pem"
            ),
        }
    ],
}

LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
