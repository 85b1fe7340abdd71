"""System checks of the leak features: E004 (a verifier cannot be loaded),
E005 (invalid NUM_PROXIES, SECRET_SCANNING_ACTION, EXPIRY_REMINDER_DAYS)."""

from __future__ import annotations

import sys

import pytest

from django_apikeys.checks import check_leak_settings


def ids():
    return {message.id for message in check_leak_settings()}


def test_defaults_and_enabled_receiver_are_clean(settings):
    settings.APIKEYS = {}
    assert ids() == set()
    settings.APIKEYS = {"SECRET_SCANNING_ENABLED": True, "NUM_PROXIES": 2}
    assert ids() == set()


def test_e004_verifier_cannot_be_imported(settings):
    settings.APIKEYS = {
        "SECRET_SCANNING_ENABLED": True,
        "SECRET_SCANNING_VERIFIERS": {"acme": "no_such_module.Verifier"},
    }
    assert ids() == {"django_apikeys.E004"}
    settings.APIKEYS = {**settings.APIKEYS, "SECRET_SCANNING_ENABLED": False}
    assert ids() == set()  # only checked when the receiver is on


def test_e004_without_cryptography(settings, monkeypatch):
    monkeypatch.delitem(sys.modules, "django_apikeys.scanning.github", raising=False)
    monkeypatch.setitem(sys.modules, "cryptography", None)  # what an uninstalled package gives
    monkeypatch.setitem(sys.modules, "cryptography.exceptions", None)
    settings.APIKEYS = {"SECRET_SCANNING_ENABLED": True}
    messages = check_leak_settings()
    assert [m.id for m in messages] == ["django_apikeys.E004"]
    assert "django-apikeys[scanning]" in messages[0].hint


@pytest.mark.parametrize(
    "value",
    [
        {"NUM_PROXIES": -1},
        {"NUM_PROXIES": "1"},
        {"NUM_PROXIES": True},
        {"SECRET_SCANNING_ACTION": "delete"},
        {"EXPIRY_REMINDER_DAYS": [7, 0]},
        {"EXPIRY_REMINDER_DAYS": "7"},
    ],
)
def test_e005_invalid_values(settings, value):
    settings.APIKEYS = value
    assert ids() == {"django_apikeys.E005"}
