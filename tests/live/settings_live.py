"""Settings for the live servers of the cross-process tests: the example
project's production shape (``DATABASE_URL`` = PostgreSQL, ``REDIS_URL`` =
Redis via Django's built-in ``RedisCache``) with the key-lookup cache on."""

from __future__ import annotations

import os

from example.settings import *  # noqa: F403

from django_apikeys.conf import DEFAULTS as _APIKEYS_DEFAULTS

if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL"):
    raise RuntimeError("The live settings need DATABASE_URL and REDIS_URL.")

DEBUG = False
SECRET_KEY = "live-tests-only-not-secret"
APIKEYS = {
    "KEY_CACHE_TIMEOUT": 300,
    # The default types plus a member-scoped user key type.
    "KEY_TYPES": {
        **_APIKEYS_DEFAULTS["KEY_TYPES"],
        "member": {"prefix": "mk", "owner": "user", "tenancy": "member"},
    },
    # The secret-scanning receiver, with public keys served by the live test.
    "SECRET_SCANNING_ENABLED": True,
    "GITHUB_PUBLIC_KEYS_URL": (
        f"http://127.0.0.1:{os.environ.get('APIKEYS_LIVE_SCANNING_PORT', '9')}/meta/public_keys"
    ),
}
if "MAILERS" in globals():  # Django 6.1+: the example configures MAILERS
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
