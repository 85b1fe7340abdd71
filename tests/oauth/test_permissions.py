"""Every permission class and the throttle treat a token like a user key;
signing-key rotation through the JWKS ``kid``."""

from __future__ import annotations

import pytest
from django.test import Client

from django_apikeys import metering
from django_apikeys.models import Membership
from django_apikeys.oauth import tokens
from django_apikeys.oauth.conf import oauth_settings
from tests.factories import PlanFactory, role

from .conftest import OAUTH_KEY_DIR, bearer

pytestmark = pytest.mark.django_db


def test_entitlement_follows_the_stamped_organizations_plan(api_client):
    from .conftest import make_world

    world = make_world(scopes=["reports:read", "clients:read"])
    body = world.tokens(scope="reports:read")
    response = api_client.get("/api/v1/reports", **bearer(body["access_token"]))
    assert response.json()["code"] == "not_entitled"
    world.org.plan = PlanFactory(entitlements=["reports"])
    world.org.save()
    assert api_client.get("/api/v1/reports", **bearer(body["access_token"])).status_code == 200


def test_organization_permission_from_the_live_role(world, api_client):
    body = world.tokens()
    url = f"/api/v1/orgs/{world.org.pk}/members"
    assert api_client.get(url, **bearer(body["access_token"])).status_code == 200
    Membership.objects.filter(pk=world.owner.pk).update(role=role("Editor"))
    response = api_client.get(url, **bearer(body["access_token"]))
    assert response.json()["code"] == "permission_denied"


def test_both_scope_spellings_and_write_scope(world, api_client):
    body = world.tokens(scope="read:clients write:clients")
    assert body["scope"] == "clients:read clients:write"
    response = api_client.post(
        "/api/v1/clients", {"name": "Via OAuth"}, format="json", **bearer(body["access_token"])
    )
    assert response.status_code == 201, response.content
    read_only = world.tokens(scope="clients:read")
    response = api_client.post(
        "/api/v1/clients", {"name": "x"}, format="json", **bearer(read_only["access_token"])
    )
    body = response.json()
    assert response.status_code == 403
    assert (body["code"], body["type"]) == ("insufficient_scope", "ForbiddenError")
    assert body["required_scopes"] == ["clients:write"]
    assert "clients:write" in body["detail"]


def test_rate_limited_per_app_and_metered_per_organization(world, api_client, settings):
    settings.APIKEYS_OAUTH = {**settings.APIKEYS_OAUTH, "RATE_LIMIT_PER_MINUTE": 2}
    body = world.tokens()
    other = world.tokens()  # another authorization of the same app: the same budget
    statuses = [
        api_client.get("/api/v1/clients", **bearer(token)).status_code
        for token in (body["access_token"], other["access_token"], body["access_token"])
    ]
    assert statuses == [200, 200, 429]
    refused = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert refused.json()["code"] == "rate_limited"
    assert "client application" in refused.json()["detail"]
    assert refused["X-RateLimit-Limit"] == "2"
    assert sum(n for _, n in metering.daily_usage(world.org)) == 2


def test_organization_plan_limit_applies_to_tokens(world, api_client):
    world.org.plan = PlanFactory(rate_limit_per_minute=1)
    world.org.save()
    body = world.tokens()
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 200
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.status_code == 429
    assert "organization" in response.json()["detail"]


def test_signing_key_rotation(world, api_client, settings):
    old_token = world.tokens()["access_token"]
    old = {"kid": "demo-2026-a", "private_key_file": str(OAUTH_KEY_DIR / "demo-2026-a.pem")}
    new = {"kid": "demo-2026-b", "private_key_file": str(OAUTH_KEY_DIR / "demo-2026-b.pem")}
    settings.APIKEYS_OAUTH = {**settings.APIKEYS_OAUTH, "SIGNING_KEYS": [new, old]}
    new_token = world.tokens()["access_token"]
    import jwt

    assert jwt.get_unverified_header(new_token)["kid"] == "demo-2026-b"
    jwks = Client().get("/.well-known/jwks.json").json()
    assert [k["kid"] for k in jwks["keys"]] == ["demo-2026-b", "demo-2026-a"]
    for token in (old_token, new_token):
        assert api_client.get("/api/v1/clients", **bearer(token)).status_code == 200
    # The old key retired to verification only, then removed.
    from cryptography.hazmat.primitives import serialization

    public = (
        oauth_settings.keys_by_kid["demo-2026-a"]
        .public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )
    settings.APIKEYS_OAUTH = {
        **settings.APIKEYS_OAUTH,
        "SIGNING_KEYS": [new],
        "VERIFICATION_KEYS": [{"kid": "demo-2026-a", "public_key": public}],
    }
    assert api_client.get("/api/v1/clients", **bearer(old_token)).status_code == 200
    settings.APIKEYS_OAUTH = {**settings.APIKEYS_OAUTH, "VERIFICATION_KEYS": []}
    response = api_client.get("/api/v1/clients", **bearer(old_token))
    assert response.json()["code"] == "invalid_token"
    assert api_client.get("/api/v1/clients", **bearer(new_token)).status_code == 200
    assert tokens.verify(new_token)["client_id"] == world.client_id
