"""The settings object: defaults, validation, reload on setting_changed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_apikeys.authentication import APIKeyPrincipal
from django_apikeys.conf import apikeys_settings


def test_defaults():
    assert apikeys_settings.SEPARATOR == "_"
    types = apikeys_settings.key_types
    assert {name: kt.prefix for name, kt in types.items()} == {
        "server": "sk",
        "user": "uk",
        "publishable": "pk",
    }
    assert types["user"].user_owned and not types["server"].user_owned
    assert types["publishable"].publishable
    assert apikeys_settings.PRINCIPAL_CLASS is APIKeyPrincipal


def test_reloads_on_setting_changed(settings):
    assert apikeys_settings.SEPARATOR == "_"
    settings.APIKEYS = {"SEPARATOR": "-", "KEY_TYPES": {"live": {"prefix": "sk-live"}}}
    assert apikeys_settings.SEPARATOR == "-"
    assert list(apikeys_settings.key_types) == ["live"]
    assert apikeys_settings.parser.looks_like_key("sk-live-abc")


def test_unknown_setting_raises(settings):
    settings.APIKEYS = {"SEPARATR": "-"}
    with pytest.raises(ImproperlyConfigured, match="SEPARATR"):
        apikeys_settings.SEPARATOR  # noqa: B018


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError):
        apikeys_settings.NOPE  # noqa: B018


def test_key_type_options(settings):
    settings.APIKEYS = {
        "KEY_TYPES": {
            "test": {
                "prefix": "sk_test",
                "read_only": True,
                "scopes": ["read:clients", "invoices:read"],
                "lifetime_quota": 10,
                "rate_limit_per_minute": 5,
            }
        }
    }
    kt = apikeys_settings.key_type("test")
    assert kt.read_only and kt.lifetime_quota == 10 and kt.rate_limit_per_minute == 5
    assert kt.scopes == ("clients:read", "invoices:read")
    assert kt.default_scopes is None  # none declared: creators name the scopes
    assert kt.label == "Test"
    assert apikeys_settings.key_type("missing") is None
