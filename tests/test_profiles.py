"""One behavioural suite over every settings profile of the example project.

Each profile configures django-apikeys like one of the reference APIs (see
``example_project/example/profiles/``); the app must serve each by
configuration alone.
"""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.utils import timezone

from django_apikeys import keys, services
from django_apikeys.conf import apikeys_settings
from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, OrganizationFactory, PlanFactory, make_key

pytestmark = pytest.mark.django_db

PROFILES = [
    "example.settings",
    "example.profiles.typed_checksummed_keys",
    "example.profiles.endpoint_key_types",
    "example.profiles.scoped_user_keys",
    "example.profiles.org_header_test_tier",
    "example.profiles.bearer_multi_purpose_keys",
]


class Profile:
    def __init__(self, module, settings):
        self.module = importlib.import_module(module)
        settings.APIKEYS = self.module.APIKEYS
        settings.EXAMPLE_API = self.module.EXAMPLE_API
        # The wire names of OAuth tokens (the signing keys stay the tests' own).
        claim = getattr(self.module, "APIKEYS_OAUTH", {}).get("ORGANIZATION_CLAIM")
        if claim:
            settings.APIKEYS_OAUTH = {**settings.APIKEYS_OAUTH, "ORGANIZATION_CLAIM": claim}
        self.api = self.module.EXAMPLE_API
        self.owner = MembershipFactory()
        self.org = self.owner.organization

    def key(self, key_type, org=None, **kwargs):
        org = org or self.org
        kt = apikeys_settings.key_types[key_type]
        user = None
        if kt.user_owned:
            user = self.owner.user if org == self.org else MembershipFactory(organization=org).user
        return make_key(org, key_type, user=user, **kwargs)

    def headers(self, raw, org=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        if apikeys_settings.REQUIRE_ORGANIZATION_HEADER:
            headers[apikeys_settings.organization_header_meta] = str((org or self.org).pk)
        return headers

    def server_types(self):
        return [t for t in self.api["server_types"] if t != "session"]


@pytest.fixture(params=PROFILES, ids=lambda p: p.rsplit(".", 1)[-1])
def profile(request, settings):
    return Profile(request.param, settings)


def test_every_key_type_round_trips(profile, api_client):
    sep = apikeys_settings.SEPARATOR
    for name, kt in apikeys_settings.key_types.items():
        api_key, raw = profile.key(name)
        assert raw.startswith(kt.prefix + sep)
        assert keys.verify_format(raw, prefixes=[kt.prefix], separator=sep)
        response = api_client.get("/api/v1/me", **profile.headers(raw))
        assert response.status_code == 200, (name, response.content)
        assert response.json()["key_type"] == name


def test_alternative_header_where_configured(profile, api_client):
    api_key, raw = profile.key(profile.server_types()[0])
    headers = profile.headers(raw)
    del headers["HTTP_AUTHORIZATION"]
    response = api_client.get("/api/v1/me", HTTP_X_API_KEY=raw, **headers)
    expected = 200 if apikeys_settings.KEY_HEADERS else 401
    assert response.status_code == expected


def test_401_reasons(profile, api_client):
    server = profile.server_types()[0]
    api_key, raw = profile.key(server)
    extra = profile.headers(raw)
    del extra["HTTP_AUTHORIZATION"]

    def get(authorization):
        return api_client.get("/api/v1/me", HTTP_AUTHORIZATION=authorization, **extra).json()

    assert get(raw)["code"] == "missing_bearer_prefix"
    if apikeys_settings.AUTHORIZATION_SCHEMES:
        assert get(f"Token {raw}")["code"] == "wrong_auth_scheme"
    assert get(f"Bearer {raw[:-1]}0" if raw[-1] != "0" else f"Bearer {raw[:-1]}1")["code"] == (
        "invalid_key"
    )
    assert get("Bearer " + raw[: len(raw) // 2])["code"] == "invalid_key"
    expiring, expiring_raw = profile.key(server, expires_at=timezone.now() + datetime.timedelta(1))
    APIKey.objects.filter(pk=expiring.pk).update(expires_at=timezone.now())
    assert get(f"Bearer {expiring_raw}")["code"] == "key_expired"
    services.revoke_key(api_key)
    assert get(f"Bearer {raw}")["code"] == "key_revoked"
    # Refused unless the profile accepts it (seed 001: discouraged, not refused).
    in_query = api_client.get("/api/v1/me", {"api_key": raw}, **extra).json()["code"]
    assert in_query == ("key_revoked" if apikeys_settings.ALLOW_KEY_IN_QUERY else "key_in_query")


def test_key_types_confined_to_their_endpoints(profile, api_client):
    for name in apikeys_settings.key_types:
        api_key, raw = profile.key(name)
        response = api_client.get("/api/v1/clients", **profile.headers(raw))
        if name in profile.api["server_types"]:
            assert response.status_code == 200, (name, response.content)
        else:
            assert response.json()["code"] == "wrong_key_type", name
        response = api_client.post(
            "/api/webhooks/ingest", {}, format="json", **profile.headers(raw)
        )
        if name not in profile.api["ingest_types"]:
            assert response.json()["code"] in {"wrong_key_type", "read_only_key"}, name


def test_scopes_enforced(profile, api_client):
    server = profile.server_types()[0]
    _, narrow = profile.key(server, scopes=["read:products"])
    assert api_client.get("/api/v1/products", **profile.headers(narrow)).status_code == 200
    response = api_client.get("/api/v1/clients", **profile.headers(narrow))
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert response.json()["required_scopes"] == ["clients:read"]


def test_idor_guard(profile, api_client):
    server = profile.server_types()[0]
    _, raw = profile.key(server)
    other = OrganizationFactory()
    mine = api_client.get(f"/api/v1/orgs/{profile.org.pk}/invoices", **profile.headers(raw))
    assert mine.status_code == 200, mine.content
    theirs = api_client.get(f"/api/v1/orgs/{other.pk}/invoices", **profile.headers(raw))
    assert theirs.status_code == 403
    assert theirs.json()["code"] == "organization_mismatch"
    assert theirs.json()["type"] == "ForbiddenError"
    header = {**profile.headers(raw), apikeys_settings.organization_header_meta: str(other.pk)}
    response = api_client.get("/api/v1/clients", **header)
    assert response.json()["code"] == "organization_mismatch"


def test_entitlement(profile, api_client):
    server = profile.server_types()[0]
    _, raw = profile.key(server)
    response = api_client.get("/api/v1/reports", **profile.headers(raw))
    assert (response.status_code, response.json()["code"]) == (403, "not_entitled")
    assert response.json()["type"] == "NotEntitledError"
    profile.org.plan = PlanFactory(entitlements=["reports"])
    profile.org.save()
    assert api_client.get("/api/v1/reports", **profile.headers(raw)).status_code == 200


def test_read_only_types_refuse_writes(profile, api_client):
    for name, kt in apikeys_settings.key_types.items():
        if name not in profile.api["server_types"]:
            continue
        _, raw = profile.key(name)
        response = api_client.post(
            "/api/v1/clients", {"name": "New"}, format="json", **profile.headers(raw)
        )
        if kt.read_only:
            assert response.json()["code"] == "read_only_key"
        else:
            assert response.status_code == 201, response.content


def test_organization_header_when_required(profile, api_client):
    server = profile.server_types()[0]
    _, raw = profile.key(server)
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    if apikeys_settings.REQUIRE_ORGANIZATION_HEADER:
        assert response.status_code == 400
        assert response.json()["code"] == "organization_required"
        assert apikeys_settings.ORGANIZATION_HEADER in response.json()["detail"]
    else:
        assert response.status_code == 200


def test_browser_keys_on_the_browser_endpoint(profile, api_client):
    for name in profile.api["browser_types"]:
        if name == "session":
            continue
        _, raw = profile.key(name)
        response = api_client.post(
            "/api/v1/assess",
            {"amount": 1000, "currency": "USD"},
            format="json",
            **profile.headers(raw),
        )
        kt = apikeys_settings.key_types[name]
        if kt.read_only:
            assert response.json()["code"] == "read_only_key"
        else:
            assert response.status_code == 200, (name, response.content)
            assert response.json()["organization"] == str(profile.org.pk)


def test_oauth_access_tokens_where_the_profile_enables_them(profile, api_client):
    """The token credential: admitted where a profile lists the ``oauth`` kind
    (seed 002's profile and the example project), refused elsewhere."""
    from tests.oauth.conftest import make_world

    world = make_world()
    body = world.tokens(scope="clients:read")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {body['access_token']}"}
    if apikeys_settings.REQUIRE_ORGANIZATION_HEADER:
        headers[apikeys_settings.organization_header_meta] = str(world.org.pk)
    response = api_client.get("/api/v1/clients", **headers)
    if "oauth" in profile.api["server_types"]:
        assert response.status_code == 200, response.content
        me = api_client.get("/api/v1/me", **headers).json()
        assert me["key_type"] == "oauth"
        assert me["organization"] == str(world.org.pk)
    else:
        assert response.json()["code"] == "wrong_key_type"
    garbage = api_client.get("/api/v1/clients", HTTP_AUTHORIZATION="Bearer eyJx.y.z")
    assert garbage.json()["code"] == "invalid_token"
