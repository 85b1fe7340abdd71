"""Every system check id has a test."""

from __future__ import annotations

import pytest

from django_apikeys.checks import check_settings

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
