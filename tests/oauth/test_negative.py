"""Each refused case in its own test, with the exact error."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from django.test import Client

from django_apikeys import services as core_services
from django_apikeys.models import Membership
from django_apikeys.oauth import services, tokens
from django_apikeys.oauth.conf import oauth_settings
from django_apikeys.oauth.models import OAuthGrant
from tests.factories import MembershipFactory, OrganizationFactory, make_key, role

from .conftest import AUTHORIZE, REDIRECT_URI, TOKEN, bearer, pkce_pair

pytestmark = pytest.mark.django_db


def _redirect_error(response):
    assert response.status_code == 302, response.content[:1000]
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return parse_qs(location.query)


def _claims(world, **overrides):
    body = world.tokens()
    claims = tokens.verify(body["access_token"])
    claims["grant"] = str(claims["grant"])
    claims.update(overrides)
    return claims


def _sign(claims, key=None, algorithm="RS256", kid="demo-2026-a"):
    return jwt.encode(
        claims,
        key or oauth_settings.active_key.private_key,
        algorithm=algorithm,
        headers={"kid": kid},
    )


# --- authorization endpoint -------------------------------------------------


def test_missing_pkce_is_invalid_request(world):
    params = world.authorize_params(code_challenge=None, code_challenge_method=None)
    query = _redirect_error(world.client.get(AUTHORIZE, params))
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["xyz-state"]


def test_plain_pkce_is_refused(world):
    verifier, _ = pkce_pair()
    params = world.authorize_params(code_challenge=verifier, code_challenge_method="plain")
    query = _redirect_error(world.client.get(AUTHORIZE, params))
    assert query["error"] == ["invalid_request"]


def test_pkce_without_method_defaults_to_plain_and_is_refused(world):
    params = world.authorize_params(code_challenge_method=None)
    query = _redirect_error(world.client.get(AUTHORIZE, params))
    assert query["error"] == ["invalid_request"]


def test_unknown_scope_is_invalid_scope(world):
    query = _redirect_error(
        world.client.get(AUTHORIZE, world.authorize_params(scope="ponies:read"))
    )
    assert query["error"] == ["invalid_scope"]


def test_scope_not_registered_for_the_app_is_invalid_scope(world):
    params = world.authorize_params(scope="clients:read reports:write")
    query = _redirect_error(world.client.get(AUTHORIZE, params))
    assert query["error"] == ["invalid_scope"]


def test_wrong_redirect_uri_is_an_error_page_not_a_redirect(world):
    params = world.authorize_params(redirect_uri="https://evil.example/callback")
    response = world.client.get(AUTHORIZE, params)
    assert response.status_code == 400
    assert "Location" not in response
    assert b"oauth-error" in response.content


def test_unknown_client_id_is_an_error_page_not_a_redirect(world):
    response = world.client.get(AUTHORIZE, world.authorize_params(client_id="nope"))
    assert response.status_code == 400
    assert "Location" not in response


def test_deny_is_access_denied(world):
    query = _redirect_error(world.consent(allow=False))
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["xyz-state"]
    assert not OAuthGrant.objects.exists()


def test_approval_prompt_auto_cannot_skip_the_organization_choice(world):
    world.tokens()
    params = world.authorize_params(approval_prompt="auto")
    response = world.client.get(f"{AUTHORIZE}?{urlencode(params)}")
    assert response.status_code == 200  # the consent page again, no silent redirect


def test_organization_the_user_is_not_a_member_of_is_refused(world):
    other = OrganizationFactory()
    response = world.consent(org=other)
    assert response.status_code == 400
    assert "code=" not in response.get("Location", "")


def test_scope_beyond_role_is_not_granted(world, api_client):
    editor_org = OrganizationFactory()
    MembershipFactory(organization=editor_org, user=world.owner.user, role=role("Editor"))
    body = world.tokens(org=editor_org, scope="clients:read products:read")
    assert body["scope"] == "products:read"  # Editor: offers:*, products:* only
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert api_client.get("/api/v1/products", **bearer(body["access_token"])).status_code != 401


# --- token endpoint ---------------------------------------------------------


def test_wrong_verifier_is_invalid_grant(world):
    response = world.exchange(world.code(), verifier=pkce_pair()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_replayed_code_is_refused_and_revokes_its_tokens(world, api_client):
    code = world.code()
    first = world.exchange(code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    again = world.exchange(code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    response = api_client.get("/api/v1/clients", **bearer(access))
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert world.refresh(first.json()["refresh_token"]).json()["error"] == "invalid_grant"
    assert OAuthGrant.objects.get().revoked_reason == "code_replay"


def test_wrong_redirect_uri_at_the_token_endpoint(world):
    response = world.exchange(world.code(), redirect_uri="http://localhost:8765/other")
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_grant")


def test_wrong_client_secret_is_invalid_client(world):
    response = world.exchange(world.code(), client_secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_refresh_reuse_revokes_the_family(world, api_client):
    body = world.tokens()
    rotated = world.refresh(body["refresh_token"]).json()
    reuse = world.refresh(body["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # the whole family is dead: the newest refresh token and every access token
    assert world.refresh(rotated["refresh_token"]).json()["error"] == "invalid_grant"
    for access in (body["access_token"], rotated["access_token"]):
        response = api_client.get("/api/v1/clients", **bearer(access))
        assert response.json()["code"] == "token_revoked"
    assert OAuthGrant.objects.get().revoked_reason == "refresh_reuse"


def test_expired_refresh_token(world, settings):
    body = world.tokens()
    from oauth2_provider.models import RefreshToken

    RefreshToken.objects.update(created=RefreshToken.objects.get().created.replace(year=2000))
    assert world.refresh(body["refresh_token"]).json()["error"] == "invalid_grant"


def test_rfc7009_revocation_revokes_the_authorization(world, api_client):
    body = world.tokens()
    data = {"token": body["refresh_token"], "client_id": world.client_id}
    data["client_secret"] = world.secret
    response = Client().post("/api/auth/oauth2/revoke", data)
    assert response.status_code == 200
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).json()["code"] == (
        "token_revoked"
    )


def test_rfc7009_revoking_the_access_token(world, api_client):
    body = world.tokens()
    data = {
        "token": body["access_token"],
        "client_id": world.client_id,
        "client_secret": world.secret,
    }
    assert Client().post("/api/auth/oauth2/revoke", data).status_code == 200
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).json()["code"] == (
        "token_revoked"
    )
    assert world.refresh(body["refresh_token"]).json()["error"] == "invalid_grant"


# --- resource side ----------------------------------------------------------


def test_token_for_org_a_on_org_b_url_is_organization_mismatch(world, api_client):
    body = world.tokens()
    other = OrganizationFactory()
    MembershipFactory(organization=other, user=world.owner.user, role=role("Owner"))
    response = api_client.get(f"/api/v1/orgs/{other.pk}/invoices", **bearer(body["access_token"]))
    assert response.status_code == 403
    assert response.json()["code"] == "organization_mismatch"
    response = api_client.get(
        "/api/v1/clients", HTTP_X_ORGANIZATION=str(other.pk), **bearer(body["access_token"])
    )
    assert response.json()["code"] == "organization_mismatch"


def test_expired_token_is_token_expired(world, api_client, monkeypatch):
    body = world.tokens()
    real = time.time
    monkeypatch.setattr(tokens.time, "time", lambda: real() + 3601)
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
    assert response["WWW-Authenticate"].endswith('error="invalid_token"')


def test_tampered_signature_is_invalid_token(world, api_client):
    access = world.tokens()["access_token"]
    header, payload, signature = access.split(".")
    forged = _sign(
        {**tokens.verify(access), "grant": str(tokens.verify(access)["grant"]), "scope": "*"}
    )
    tampered = f"{header}.{forged.split('.')[1]}.{signature}"
    response = api_client.get("/api/v1/clients", **bearer(tampered))
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Invalid access token.",
        "code": "invalid_token",
        "type": "AuthenticationError",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_alg_none_is_invalid_token(world, api_client):
    claims = _claims(world)
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "demo-2026-a"})
    response = api_client.get("/api/v1/clients", **bearer(unsigned))
    assert response.json()["code"] == "invalid_token"


def test_hs256_with_the_public_key_as_secret_is_invalid_token(world, api_client):
    import base64
    import hashlib
    import hmac
    import json

    from cryptography.hazmat.primitives import serialization

    claims = _claims(world)
    public_pem = oauth_settings.active_key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "kid": "demo-2026-a", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = b64(hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    response = api_client.get("/api/v1/clients", **bearer(f"{head}.{body}.{signature}"))
    assert response.json()["code"] == "invalid_token"


def test_wrong_audience_is_invalid_token(world, api_client):
    token = _sign(_claims(world, aud="https://another-api.example"))
    assert api_client.get("/api/v1/clients", **bearer(token)).json()["code"] == "invalid_token"


def test_wrong_issuer_is_invalid_token(world, api_client):
    token = _sign(_claims(world, iss="https://evil.example"))
    assert api_client.get("/api/v1/clients", **bearer(token)).json()["code"] == "invalid_token"


def test_unknown_kid_is_invalid_token(world, api_client):
    token = _sign(_claims(world), kid="someone-else")
    assert api_client.get("/api/v1/clients", **bearer(token)).json()["code"] == "invalid_token"


def test_token_signed_by_another_key_is_invalid_token(world, api_client):
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = _sign(_claims(world), key=other)
    assert api_client.get("/api/v1/clients", **bearer(token)).json()["code"] == "invalid_token"


def test_unknown_grant_is_token_revoked(world, api_client):
    token = _sign(_claims(world, grant=str(uuid.uuid4())))
    assert api_client.get("/api/v1/clients", **bearer(token)).json()["code"] == "token_revoked"


def test_revoked_app_is_token_revoked(world, api_client):
    body = world.tokens()
    grant = OAuthGrant.objects.get()
    user_client = Client()
    user_client.force_login(world.owner.user)
    response = user_client.post(f"/apikeys/oauth/authorized/{grant.pk}/revoke/")
    assert response.status_code == 302
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert world.refresh(body["refresh_token"]).json()["error"] == "invalid_grant"


def test_removed_member_is_token_revoked(world, api_client):
    member = MembershipFactory(organization=world.org, role=role("Manager"))
    world.client.force_login(member.user)
    body = world.tokens()
    core_services.remove_member(Membership.objects.get(pk=member.pk), actor=world.owner.user)
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert OAuthGrant.objects.get(user=member.user).revoked_reason == "member_removed"
    # adding the user back does not bring the old tokens back
    MembershipFactory(organization=world.org, user=member.user, role=role("Manager"))
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 401


def test_downgraded_role_loses_the_scope_on_the_next_request(world, api_client):
    body = world.tokens()
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 200
    membership = Membership.objects.get(pk=world.owner.pk)
    membership.role = role("Editor")
    membership.save()
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_downgraded_role_with_the_lookup_cache_on(
    world, api_client, settings, django_capture_on_commit_callbacks
):
    settings.APIKEYS = {**settings.APIKEYS, "KEY_CACHE_TIMEOUT": 300}
    body = world.tokens()
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 200
    membership = Membership.objects.get(pk=world.owner.pk)
    membership.role = role("Editor")
    with django_capture_on_commit_callbacks(execute=True):
        membership.save()
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 403


def test_revocation_with_the_lookup_cache_on(
    world, api_client, settings, django_capture_on_commit_callbacks
):
    settings.APIKEYS = {**settings.APIKEYS, "KEY_CACHE_TIMEOUT": 300}
    body = world.tokens()
    for _ in range(2):
        assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_grants(OAuthGrant.objects.all(), reason="user")
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.json()["code"] == "token_revoked"


def test_key_shaped_garbage_goes_to_the_key_class(api_client):
    response = api_client.get("/api/v1/clients", **bearer("sk_notarealkeyatall_00000000"))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_key"


def test_a_real_key_still_works_beside_tokens(api_client):
    api_key, raw = make_key(OrganizationFactory())
    assert api_client.get("/api/v1/me", **bearer(raw)).status_code == 200


@pytest.mark.parametrize(
    "value",
    ["eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "eyJ.x.y", "eyJhbGciOiJub25lIn0..", "garbage"],
)
def test_jwt_shaped_and_other_garbage_is_invalid_token(api_client, value):
    response = api_client.get("/api/v1/clients", **bearer(value))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_token_kind_refused_where_the_view_does_not_admit_it(world, api_client, settings):
    body = world.tokens()
    settings.EXAMPLE_API = {**settings.EXAMPLE_API, "server_types": ["server", "user"]}
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_key_type"


def test_non_jwt_garbage_is_invalid_key_while_keys_claim_every_bearer(api_client, settings):
    settings.APIKEYS = {**settings.APIKEYS, "CLAIM_ALL_BEARER_TOKENS": True}
    assert api_client.get("/api/v1/clients", **bearer("garbage")).json()["code"] == "invalid_key"
    response = api_client.get("/api/v1/clients", **bearer("eyJx.y.z"))
    assert response.json()["code"] == "invalid_token"


@pytest.mark.parametrize("scope", ["reports:write", "!!not a scope", ""])
def test_tampered_consent_form_never_grants_more_nor_fails(world, scope):
    params = world.authorize_params()
    url = f"{AUTHORIZE}?{urlencode(params)}"
    page = world.client.get(url)
    form = page.context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields if name != "allow"}
    data.update(scope=scope, organization=str(world.org.pk), allow="Authorize")
    response = world.client.post(url, data)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert "code=" not in response["Location"]
    assert not OAuthGrant.objects.exists()


def test_deleted_organization_is_token_revoked(
    world, api_client, django_capture_on_commit_callbacks
):
    body = world.tokens()
    with django_capture_on_commit_callbacks(execute=True):
        core_services.delete_organization(world.org, actor=world.owner.user)
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert OAuthGrant.objects.get().revoked_reason == "organization_deleted"
    # The app belonged to the deleted organization: it is no client any more.
    assert world.refresh(body["refresh_token"]).json()["error"] == "invalid_client"


def test_token_and_key_in_one_request_is_ambiguous(world, api_client):
    body = world.tokens()
    api_key, raw = make_key(world.org)
    response = api_client.get(
        "/api/v1/clients", HTTP_X_API_KEY=raw, **bearer(body["access_token"])
    )
    assert response.status_code == 401
    assert response.json()["code"] == "ambiguous_credentials"


def test_revocation_holds_when_the_cache_missed_the_invalidation(world, api_client, settings):
    """The grant's cached lookup is never dropped (its on-commit invalidation
    does not run, as when Redis was down or came back from an old snapshot):
    the invalidation outbox row written with the revocation still refuses the
    token once this process reads the outbox again (at most once a second)."""
    from django_apikeys import cache

    settings.APIKEYS = {**settings.APIKEYS, "KEY_CACHE_TIMEOUT": 300}
    body = world.tokens()
    for _ in range(2):
        assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 200
    services.revoke_grants(OAuthGrant.objects.all(), reason="user")  # on_commit never runs here
    cache._forget_mark()  # the poll interval has passed
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.json()["code"] == "token_revoked"


# --- input that cannot reach the database (PostgreSQL refuses NUL, columns have sizes) ---


def _token_post(world, **data):
    body = {
        "grant_type": "authorization_code",
        "code": "x",
        "redirect_uri": REDIRECT_URI,
        "client_id": world.client_id,
        "code_verifier": "v" * 43,
        "client_secret": world.secret,
        **data,
    }
    return Client().post(TOKEN, body)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "field,value,error",
    [
        ("client_id", "abc\x00def", "invalid_client"),
        ("code", "abc\x00def", "invalid_grant"),
        ("code", "c" * 300, "invalid_grant"),
    ],
)
def test_token_endpoint_refuses_unstorable_values_not_500(world, field, value, error):
    response = _token_post(world, **{field: value})
    assert response.status_code in (400, 401), response.content
    assert response.json()["error"] == error


@pytest.mark.postgres
def test_authorize_with_a_nul_client_id_is_an_error_page_not_500(world):
    response = world.client.get(AUTHORIZE, world.authorize_params(client_id="a\x00b"))
    assert response.status_code == 400
    assert "Location" not in response


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": "c" * 200},  # longer than the grant stores
        {"code_challenge": "short"},
        {"code_challenge": "has spaces in it and is long enough to pass the length"},
        {"nonce": "n" * 300},
    ],
)
def test_a_malformed_challenge_or_nonce_is_refused_at_authorize(world, overrides):
    """Refused when the request arrives, with the redirect's invalid_request,
    not at the token step after the user consented."""
    query = _redirect_error(world.client.get(AUTHORIZE, world.authorize_params(**overrides)))
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["xyz-state"]


@pytest.mark.postgres
@pytest.mark.parametrize(
    "field,value", [("code_challenge", "c" * 200), ("nonce", "n" * 300), ("nonce", "a\x00b")]
)
def test_a_tampered_consent_form_is_400_not_500(world, field, value):
    """The consent page's hidden fields come back from the browser."""
    params = world.authorize_params()
    url = f"{AUTHORIZE}?{urlencode(params)}"
    page = world.client.get(url)
    form = page.context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields if name != "allow"}
    data.update({"organization": str(world.org.pk), "allow": "Authorize", field: value})
    response = world.client.post(url, data)
    assert response.status_code == 400
    assert not OAuthGrant.objects.exists()
