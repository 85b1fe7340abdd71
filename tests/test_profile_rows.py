"""Behaviours the reference documents share, run under every settings
profile (``docs/profiles.rst`` cites them row by row): malformed keys cost no
query, a new key is shown once and only its hash is stored, revocation and
rolling take effect on the next request, the dashboard is session-only,
rate limits and metering, and failures never carry the key."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_apikeys import keys, metering, services, signals
from django_apikeys.conf import apikeys_settings
from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, PlanFactory, role
from tests.test_profiles import PROFILES, Profile

pytestmark = pytest.mark.django_db


@pytest.fixture(params=PROFILES[1:], ids=lambda p: p.rsplit(".", 1)[-1])
def profile(request, settings):
    """The five reference profiles."""
    return Profile(request.param, settings)


def server_key(profile, **kwargs):
    return profile.key(profile.server_types()[0], **kwargs)


def test_malformed_keys_cost_zero_queries(profile, api_client):
    _, raw = server_key(profile)
    bad_checksum = raw[:-1] + ("0" if raw[-1] != "0" else "1")
    for value in (bad_checksum, raw[: len(raw) // 2], raw + "x"):
        with CaptureQueriesContext(connection) as ctx:
            response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {value}")
        assert response.json()["code"] == "invalid_key"
        assert len(ctx.captured_queries) == 0


def test_dashboard_shows_a_new_key_once_and_stores_its_hash(profile, client, api_client):
    client.force_login(profile.owner.user)
    org = profile.org
    key_type = profile.server_types()[0]
    create = reverse("django_apikeys:key_create", args=[org.pk]) + f"?type={key_type}"
    page = client.get(create)
    response = client.post(
        create,
        {
            "key_type": key_type,
            "form_token": page.context["form"]["form_token"].value(),
            "name": "shown once",
            "expiry": "never",
            "scopes": ["*"],
        },
    )
    assert "raw_key" in response.context, response.context["form"].errors
    raw = response.context["raw_key"]
    assert response.content.decode().count(raw) == 1
    assert response["Cache-Control"].startswith("no-store")
    stored = APIKey.objects.get(name="shown once")
    assert stored.hashed_key == keys.hash_key(raw) and raw not in repr(stored.__dict__)
    listed = client.get(reverse("django_apikeys:key_list", args=[org.pk]))
    assert raw not in listed.content.decode()
    assert api_client.get("/api/v1/me", **profile.headers(raw)).status_code == 200


def test_revocation_takes_effect_on_the_next_request(profile, client, api_client):
    api_key, raw = server_key(profile)
    assert api_client.get("/api/v1/me", **profile.headers(raw)).status_code == 200
    client.force_login(profile.owner.user)
    revoke = reverse("django_apikeys:key_revoke", args=[profile.org.pk, api_key.pk])
    assert client.post(revoke).status_code == 302
    response = api_client.get("/api/v1/me", **profile.headers(raw))
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")


def test_roll_keeps_the_old_key_for_the_grace_period(profile, api_client):
    api_key, old = server_key(profile)
    new_key, new = services.roll_key(api_key, grace_period=datetime.timedelta(hours=1))
    for raw in (old, new):
        assert api_client.get("/api/v1/me", **profile.headers(raw)).status_code == 200
    _, newest = services.roll_key(new_key, grace_period=datetime.timedelta(0))
    assert api_client.get("/api/v1/me", **profile.headers(new)).status_code == 401
    assert api_client.get("/api/v1/me", **profile.headers(newest)).status_code == 200


def test_the_dashboard_is_session_only(profile, client):
    _, raw = server_key(profile)
    for name in ("key_list", "member_list"):
        url = reverse(f"django_apikeys:{name}", args=[profile.org.pk])
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_API_KEY=raw)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_per_key_rate_limit_then_429(profile, api_client):
    _, raw = server_key(profile, rate_limit_per_minute=2)
    for _ in range(2):
        ok = api_client.get("/api/v1/me", **profile.headers(raw))
        assert ok.status_code == 200 and ok["X-RateLimit-Limit"] == "2"
    refused = api_client.get("/api/v1/me", **profile.headers(raw))
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    assert refused.json()["type"] == "RateLimitError" and int(refused["Retry-After"]) >= 1


def test_organization_limits_and_metering(profile, api_client):
    profile.org.plan = PlanFactory(rate_limit_per_minute=3)
    profile.org.save()
    first, raw_first = server_key(profile)
    _, raw_second = server_key(profile, name="second")
    statuses = [
        api_client.get("/api/v1/me", **profile.headers(raw)).status_code
        for raw in (raw_first, raw_second, raw_first, raw_second)
    ]
    assert statuses == [200, 200, 200, 429]  # the organization's keys share its limit
    assert metering.daily_usage(profile.org, first, days=1)[0][1] == 2


def test_failures_never_carry_the_key(profile, api_client, caplog):
    api_key, raw = server_key(profile)
    services.revoke_key(api_key)
    seen = []

    def receiver(**kwargs):
        seen.append(kwargs)

    signals.api_key_authentication_failed.connect(receiver)
    try:
        response = api_client.get("/api/v1/me", **profile.headers(raw))
    finally:
        signals.api_key_authentication_failed.disconnect(receiver)
    assert response.json()["code"] == "key_revoked"
    assert seen and seen[0]["hint"] == api_key.hint
    assert all(raw not in repr(event) for event in seen)
    assert raw not in caplog.text and raw not in response.content.decode()


@pytest.mark.parametrize(
    ("role_name", "allowed"),
    [
        ("Owner", {"members", "usage", "settings", "delete", "all_keys"}),
        ("Manager", {"members", "usage", "all_keys"}),
        ("Billing", {"usage"}),
        ("Editor", set()),
    ],
)
def test_role_columns(profile, client, api_client, role_name, allowed):
    """The role table: Manage Org (Owner), Billing, Members, API keys — per
    organization, for session users, evaluated on every request."""
    member = MembershipFactory(organization=profile.org, role=role(role_name))
    _, raw = server_key(profile, name="the organization's key")
    client.force_login(member.user)
    org = profile.org.pk
    header = {}
    if apikeys_settings.REQUIRE_ORGANIZATION_HEADER:
        header[apikeys_settings.organization_header_meta] = str(org)
    got = {
        "members": client.get(f"/api/v1/orgs/{org}/members", **header).status_code == 200,
        "usage": client.get(reverse("django_apikeys:usage", args=[org])).status_code == 200,
        "settings": client.post(
            reverse("django_apikeys:organization_settings", args=[org]),
            {"name": "Renamed", "slug": profile.org.slug},
        ).status_code
        == 302,
        "delete": client.get(reverse("django_apikeys:organization_delete", args=[org])).status_code
        == 200,
        "all_keys": "the organization&#x27;s key"
        in client.get(reverse("django_apikeys:key_list", args=[org])).content.decode()
        or "the organization's key"
        in client.get(reverse("django_apikeys:key_list", args=[org])).content.decode(),
    }
    assert {name for name, ok in got.items() if ok} == allowed
