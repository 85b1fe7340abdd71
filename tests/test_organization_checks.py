"""System check ``django_apikeys.E001`` for the organization settings."""

from __future__ import annotations

import pytest

from django_apikeys.checks import check_settings
from tests.test_checks import REDIS


def may_create(user) -> bool:
    return True


@pytest.mark.parametrize(
    "value",
    [
        {"ORGANIZATION_CREATION": "everyone"},
        {"ORGANIZATION_CREATION": "no.such.module.rule"},
        {"ORGANIZATION_CREATION": "django_apikeys.conf.DEFAULTS"},  # not callable
        {"ORGANIZATION_CREATION": 3},
        {"INVITATION_RATE": "twenty"},
        {"INVITATION_RATE": 20},
        {"INVITATION_EXPIRY": -1},
        {"INVITATION_EXPIRY": "7 days"},
        {"ORGANIZATION_RETENTION": None},
    ],
)
def test_e001_bad_organization_settings(settings, value):
    settings.CACHES = REDIS
    settings.APIKEYS = value
    messages = check_settings()
    assert [m.id for m in messages] == ["django_apikeys.E001"]
    assert next(iter(value)) in messages[0].msg


@pytest.mark.parametrize(
    "value",
    [
        {"ORGANIZATION_CREATION": "staff"},
        {"ORGANIZATION_CREATION": "tests.test_organization_checks.may_create"},
        {"ORGANIZATION_CREATION": may_create},
        {"INVITATION_RATE": "5/10m", "INVITATION_EXPIRY": 0, "ORGANIZATION_RETENTION": 0},
    ],
)
def test_good_organization_settings_pass(settings, value):
    settings.CACHES = REDIS
    settings.APIKEYS = value
    assert check_settings() == []
