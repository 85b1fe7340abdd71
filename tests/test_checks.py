"""Every system check id has a test."""

from __future__ import annotations

import pytest

from django_apikeys.checks import check_settings
from django_apikeys.debug import APIKeyExceptionReporterFilter

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1",
    }
}


def ids(settings):
    return {message.id for message in check_settings()}


def test_clean_configuration_has_no_messages(settings):
    settings.CACHES = REDIS
    settings.APIKEYS = {}
    assert ids(settings) == set()


@pytest.mark.parametrize(
    "value",
    [
        {"KEY_TYPES": {}},
        {"KEY_TYPES": {"a": {"owner": "organization"}}},
        {"KEY_TYPES": {"a": {"prefix": "x", "owner": "robot"}}},
        {"KEY_TYPES": {"a": {"prefix": "x"}, "b": {"prefix": "x"}}},
        {"KEY_TYPES": {"a": {"prefix": "x", "colour": "red"}}},
        {"KEY_TYPES": {"a": {"prefix": "x", "scopes": ["bad scope"]}}},
        {"SEPARATOR": ""},
        {"SCOPE_VOCABULARY": ["not a scope"]},
        {"NOT_A_SETTING": 1},
    ],
)
def test_e001_misconfigured_apikeys(settings, value):
    settings.CACHES = REDIS
    settings.APIKEYS = value
    assert "django_apikeys.E001" in ids(settings)


def test_e002_unknown_cache_alias(settings):
    settings.CACHES = REDIS
    settings.APIKEYS = {"CACHE_ALIAS": "nope"}
    assert "django_apikeys.E002" in ids(settings)


def test_w001_limits_on_unshared_cache(settings):
    settings.CACHES = LOCMEM
    settings.DEBUG = False
    assert "django_apikeys.W001" in ids(settings)  # publishable keys have default limits
    settings.DEBUG = True
    assert "django_apikeys.W001" not in ids(settings)
    settings.DEBUG = False
    settings.APIKEYS = {"KEY_TYPES": {"server": {"prefix": "sk"}}}
    assert "django_apikeys.W001" not in ids(settings)


def test_w002_authentication_class_not_first(settings):
    settings.CACHES = REDIS
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.SessionAuthentication",
            "django_apikeys.authentication.APIKeyAuthentication",
        ],
    }
    assert "django_apikeys.W002" in ids(settings)


def test_w003_exception_handler_missing(settings):
    settings.CACHES = REDIS
    settings.REST_FRAMEWORK = {
        k: v for k, v in settings.REST_FRAMEWORK.items() if k != "EXCEPTION_HANDLER"
    }
    assert "django_apikeys.W003" in ids(settings)


def test_w004_lookup_cache_on_unshared_cache(settings):
    settings.CACHES = LOCMEM
    settings.DEBUG = False
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 60, "KEY_TYPES": {"server": {"prefix": "sk"}}}
    assert "django_apikeys.W004" in ids(settings)
    settings.CACHES = REDIS
    assert "django_apikeys.W004" not in ids(settings)


def site_handler_wrapping_ours(exc, context):
    """A site's own handler that calls ours first (docs/coexistence.rst)."""
    from django_apikeys.exceptions import exception_handler

    response = exception_handler(exc, context)
    if response is not None:
        response["X-Site"] = "yes"
    return response


def site_handler_of_its_own(exc, context):
    from rest_framework.views import exception_handler

    return exception_handler(exc, context)


def site_handler_needing_a_request(exc, context):
    return context["request"].method


@pytest.mark.parametrize(
    ("handler", "warned"),
    [
        ("django_apikeys.exceptions.exception_handler", False),
        ("tests.test_checks.site_handler_wrapping_ours", False),
        ("tests.test_checks.site_handler_of_its_own", True),
        ("tests.test_checks.site_handler_needing_a_request", True),
        ("tests.test_checks.no_such_handler", True),
    ],
)
def test_w003_accepts_a_handler_that_wraps_ours(settings, handler, warned):
    settings.CACHES = REDIS
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": handler}
    assert ("django_apikeys.W003" in ids(settings)) is warned


KEY = "django_apikeys.authentication.APIKeyAuthentication"
JWT = "rest_framework_simplejwt.authentication.JWTAuthentication"
DOT = "oauth2_provider.contrib.rest_framework.OAuth2Authentication"
TOKEN = "rest_framework.authentication.TokenAuthentication"


@pytest.mark.parametrize(
    ("classes", "claim_all", "warned"),
    [
        ([KEY, JWT], True, True),
        ([KEY, DOT], True, True),
        ([JWT, KEY], True, True),  # simplejwt refuses Bearer keys before ours runs
        ([JWT, KEY], False, True),
        ([DOT, KEY], True, False),  # passes unknown tokens on
        ([KEY, JWT], False, False),
        ([KEY, TOKEN], True, False),  # not a Bearer class
        ([KEY, "django_apikeys.oauth.authentication.OAuthTokenAuthentication"], True, False),
    ],
)
def test_w005_bearer_classes_that_shadow_one_another(settings, classes, claim_all, warned):
    settings.CACHES = REDIS
    settings.APIKEYS = {"CLAIM_ALL_BEARER_TOKENS": claim_all}
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": classes,
    }
    assert ("django_apikeys.W005" in ids(settings)) is warned


def test_w006_refusals_are_not_counted_without_the_middleware(settings):
    settings.CACHES = REDIS
    middleware = "django_apikeys.middleware.RateLimitHeadersMiddleware"
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != middleware]
    assert "django_apikeys.W006" in ids(settings)
    settings.APIKEYS = {"METERING": False}
    assert "django_apikeys.W006" not in ids(settings)


def test_w007_production_without_the_error_report_filter(settings):
    settings.CACHES = REDIS
    settings.DEBUG = False
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = "django.views.debug.SafeExceptionReporterFilter"
    messages = [m for m in check_settings() if m.id == "django_apikeys.W007"]
    assert messages and "APIKeyExceptionReporterFilter" in messages[0].hint
    settings.DEBUG = True
    assert "django_apikeys.W007" not in ids(settings)
    settings.DEBUG = False
    for configured in (
        "django_apikeys.debug.APIKeyExceptionReporterFilter",
        "tests.test_checks.SiteFilter",
    ):
        settings.DEFAULT_EXCEPTION_REPORTER_FILTER = configured
        assert "django_apikeys.W007" not in ids(settings)
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = "no.such.Filter"
    assert "django_apikeys.W007" in ids(settings)


class SiteFilter(APIKeyExceptionReporterFilter):
    """A site's own filter built on the app's."""


NEW_SITE_SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}


OVERRIDES_DATABASES = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


@OVERRIDES_DATABASES
@pytest.mark.parametrize(
    "options,warned",
    [
        (None, True),  # as django-admin startproject writes it
        ({"timeout": 20}, True),
        ({"transaction_mode": "IMMEDIATE"}, True),
        ({"transaction_mode": "IMMEDIATE", "timeout": 20}, False),
    ],
)
def test_w008_sqlite_without_the_concurrency_options(settings, options, warned):
    settings.CACHES = REDIS
    settings.DEBUG = False
    database = dict(NEW_SITE_SQLITE, **({"OPTIONS": options} if options is not None else {}))
    settings.DATABASES = {**settings.DATABASES, "site": database}
    messages = [m for m in check_settings() if m.id == "django_apikeys.W008"]
    assert bool(messages) is warned
    if warned:
        assert "'site'" in messages[0].msg and "IMMEDIATE" in messages[0].hint


@OVERRIDES_DATABASES
def test_w008_silent_for_postgresql_and_in_debug(settings):
    settings.CACHES = REDIS
    settings.DATABASES = {
        **settings.DATABASES,
        "site": {"ENGINE": "django.db.backends.postgresql", "NAME": "x"},
        "dev": NEW_SITE_SQLITE,
    }
    settings.DEBUG = False
    messages = [m.msg for m in check_settings() if m.id == "django_apikeys.W008"]
    assert len(messages) == 1 and "'dev'" in messages[0]
    settings.DEBUG = True
    assert "django_apikeys.W008" not in ids(settings)


def test_oauth_w001_the_example_signing_key_in_a_real_site(settings):
    from django_apikeys.oauth.checks import check_oauth_settings

    def oauth_ids():
        return {m.id for m in check_oauth_settings()}

    settings.DEBUG = False  # the test settings sign with the example's key
    assert "django_apikeys_oauth.W001" in oauth_ids()
    settings.DEBUG = True
    assert "django_apikeys_oauth.W001" not in oauth_ids()
    settings.DEBUG = False
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    own = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = own.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    settings.APIKEYS_OAUTH = {
        **settings.APIKEYS_OAUTH,
        "SIGNING_KEYS": [{"kid": "own-2026", "private_key": pem}],
    }
    assert "django_apikeys_oauth.W001" not in oauth_ids()


@pytest.mark.parametrize(
    ("apikeys", "database", "says"),
    [
        ({}, {}, "prepared by the app"),
        ({}, {"OPTIONS": {"server_side_binding": True}}, "prepared by psycopg"),
        ({}, {"DISABLE_SERVER_SIDE_CURSORS": True}, "not prepared"),
        ({"PREPARE_KEY_LOOKUP": False}, {}, "not prepared"),
    ],
)
def test_i001_says_how_the_key_lookup_runs_on_postgresql(settings, apikeys, database, says):
    from django.db import connection

    from django_apikeys.checks import check_key_lookup

    if connection.vendor != "postgresql":
        assert check_key_lookup() == []  # nothing to say on other databases
        return
    settings.APIKEYS = apikeys
    saved = dict(connection.settings_dict)
    connection.settings_dict.update(database)
    try:
        (message,) = check_key_lookup()
    finally:
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert message.id == "django_apikeys.I001"
    assert says in message.msg
