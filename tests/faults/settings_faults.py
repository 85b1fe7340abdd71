"""Settings for the fault-injection servers: the example project on a SQLite
file (``DATABASE_URL``) with Redis as the cache (``REDIS_URL``, with the
documented socket timeouts), the key-lookup cache on, limits fail-closed."""

from __future__ import annotations

import os

from example.settings import *  # noqa: F403

if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL"):
    raise RuntimeError("The fault settings need DATABASE_URL and REDIS_URL.")

DEBUG = False
SECRET_KEY = "fault-tests-only-not-secret"
APIKEYS = {**APIKEYS, "KEY_CACHE_TIMEOUT": 300}  # noqa: F405
RATELIMIT_FAIL_OPEN = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_apikeys": {"handlers": ["console"], "level": "ERROR"}},
}
