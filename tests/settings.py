"""Settings for the test suite. DATABASE_URL selects PostgreSQL (see tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import django
from example import settings as example_settings
from example.dburl import database_from_url

from django_apikeys.oauth.conf import OAUTH2_PROVIDER_DEFAULTS

OAUTH_KEYS = Path(__file__).resolve().parent.parent / "example_project/example/oauth_keys"

SECRET_KEY = "tests-only-not-secret"
DEFAULT_EXCEPTION_REPORTER_FILTER = "django_apikeys.debug.APIKeyExceptionReporterFilter"
DEBUG = False
# Named literally: invitation links are built only for a host named here.
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "[::1]"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # DRF's own token model: wrong_auth_scheme must leave its Token scheme
    # working (tests/test_wrong_auth_scheme.py).
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_apikeys",
    "oauth2_provider",
    "django_apikeys.oauth",
    # CORS for publishable keys (django-apikeys[cors], docs/cors.rst).
    "corsheaders",
    "django_apikeys.cors",
    "example.api",
    # A key model of a site's own (tests/test_custom_key_model.py).
    "tests.custom_key_app",
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
]

ROOT_URLCONF = "example.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The example project's templates (registration/login.html for the dashboard).
        "DIRS": [Path(__file__).resolve().parent.parent / "example_project/example/templates"],
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

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL", "sqlite://:memory:"))}
# APIKEYS_TEST_PREPARED_STATEMENTS=1: PostgreSQL with the options docs/deployment.rst
# recommends (server-side binding, prepared statements) for the whole suite.
if os.environ.get("APIKEYS_TEST_PREPARED_STATEMENTS") and DATABASES["default"]["ENGINE"].endswith(
    "postgresql"
):
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "tests",
    }
}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "django_apikeys.backends.OrganizationRoleBackend",
]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "django_apikeys.oauth.authentication.OAuthTokenAuthentication",
        "django_apikeys.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["django_apikeys.throttling.APIKeyRateThrottle"],
    "EXCEPTION_HANDLER": "django_apikeys.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "django_apikeys.openapi.AutoSchema",
}

# As the example project's (it serves the schema, Swagger UI and ReDoc).
SPECTACULAR_SETTINGS = example_settings.SPECTACULAR_SETTINGS

APIKEYS: dict[str, object] = {}

OAUTH2_PROVIDER = {**OAUTH2_PROVIDER_DEFAULTS}
APIKEYS_OAUTH = {
    "ISSUER": "http://testserver",
    "SIGNING_KEYS": [
        {"kid": "demo-2026-a", "private_key_file": str(OAUTH_KEYS / "demo-2026-a.pem")}
    ],
}

STATIC_URL = "/static/"
LOGIN_URL = "/accounts/login/"
if django.VERSION >= (6, 1):
    # Mail through MAILERS (EMAIL_BACKEND is deprecated on 6.1); the test
    # environment points every mailer at the locmem outbox.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SILENCED_SYSTEM_CHECKS: list[str] = []

# CORS for browser keys (django_apikeys.cors), as the example project.
CORS_ALLOW_HEADERS = example_settings.CORS_ALLOW_HEADERS
CORS_EXPOSE_HEADERS = example_settings.CORS_EXPOSE_HEADERS
