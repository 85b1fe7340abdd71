"""The authorization-code + PKCE flow through Django's test client, and the
token used on the example API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_apikeys.oauth import tokens
from django_apikeys.oauth.conf import oauth_settings
from django_apikeys.oauth.models import OAuthGrant

from .conftest import REDIRECT_URI, bearer

pytestmark = pytest.mark.django_db


def test_consent_page_lists_organizations_and_plain_words(world):
    params = world.authorize_params(scope="clients:read read:invoices")
    response = world.client.get("/api/auth/oauth2/authorize", params)
    assert response.status_code == 200
    body = response.content.decode()
    assert world.org.name in body
    assert "See your clients" in body
    assert "See your invoices" in body


def test_login_first(world):
    params = world.authorize_params()
    response = Client().get("/api/auth/oauth2/authorize", params)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_full_flow_confidential_client(world, api_client):
    response = world.consent()
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["xyz-state"]
    token_response = world.exchange(query["code"][0])
    assert token_response.status_code == 200, token_response.content
    body = token_response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "clients:read clients:write"
    assert not tokens.looks_like_jwt(body["refresh_token"])  # refresh tokens are opaque
    claims = jwt.decode(
        body["access_token"],
        oauth_settings.active_key.public_key,
        algorithms=["RS256"],
        audience="http://testserver",
        issuer="http://testserver",
    )
    assert claims["sub"] == str(world.owner.user.pk)
    assert claims["org"] == str(world.org.pk)
    assert claims["client_id"] == world.client_id
    assert claims["scope"] == "clients:read clients:write"
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(body["access_token"])["kid"] == "demo-2026-a"
    grant = OAuthGrant.objects.get()
    assert claims["grant"] == str(grant.pk)
    assert grant.organization_id == world.org.pk

    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.status_code == 200, response.content
    me = api_client.get("/api/v1/me", **bearer(body["access_token"])).json()
    assert me["organization"] == str(world.org.pk)
    assert me["key_type"] == "oauth"
    assert me["user"] == str(world.owner.user)


def test_public_client_without_secret(public_world, api_client):
    body = public_world.tokens()
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 200


def test_refresh_rotates_and_the_new_token_works(world, api_client):
    body = world.tokens()
    refreshed = world.refresh(body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    new = refreshed.json()
    assert new["refresh_token"] != body["refresh_token"]
    assert new["access_token"] != body["access_token"]
    claims = tokens.verify(new["access_token"])
    assert str(claims["grant"]) == str(tokens.verify(body["access_token"])["grant"])
    assert api_client.get("/api/v1/clients", **bearer(new["access_token"])).status_code == 200


def test_one_query_per_request_and_none_for_bad_tokens(world, api_client, settings):
    body = world.tokens()
    api_client.get("/api/v1/me", **bearer(body["access_token"]))  # last_used written once
    with CaptureQueriesContext(connection) as queries:
        from rest_framework.test import APIRequestFactory

        from django_apikeys.oauth.authentication import OAuthTokenAuthentication

        request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
        from rest_framework.request import Request

        OAuthTokenAuthentication().authenticate(Request(request))
    assert len(queries) == 1

    tampered = body["access_token"][:-4] + (
        "AAAA" if not body["access_token"].endswith("AAAA") else "BBBB"
    )
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get("/api/v1/me", **bearer(tampered))
    assert response.json()["code"] == "invalid_token"
    assert len(queries) == 0


def test_zero_queries_with_the_lookup_cache(world, settings):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from django_apikeys.oauth.authentication import OAuthTokenAuthentication

    settings.APIKEYS = {**settings.APIKEYS, "KEY_CACHE_TIMEOUT": 300}
    body = world.tokens()
    factory = APIRequestFactory()
    auth = OAuthTokenAuthentication()
    auth.authenticate(
        Request(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}"))
    )
    with CaptureQueriesContext(connection) as queries:
        user, token = auth.authenticate(
            Request(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}"))
        )
    assert len(queries) == 0
    assert user == world.owner.user
    assert token.organization == world.org


def test_metadata_and_jwks(client):
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == "http://testserver"
    assert metadata["authorization_endpoint"].endswith("/api/auth/oauth2/authorize")
    assert metadata["token_endpoint"].endswith("/api/auth/oauth2/token")
    assert metadata["revocation_endpoint"].endswith("/api/auth/oauth2/revoke")
    assert metadata["jwks_uri"].endswith("/.well-known/jwks.json")
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    jwks = client.get("/.well-known/jwks.json").json()
    assert [key["kid"] for key in jwks["keys"]] == ["demo-2026-a"]
    assert jwks["keys"][0]["kty"] == "RSA"
    assert "d" not in jwks["keys"][0]  # public only


def test_metadata_endpoints_follow_the_issuer_not_the_host_header(client, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.APIKEYS_OAUTH = {**settings.APIKEYS_OAUTH, "ISSUER": "https://auth.example.com"}
    metadata = client.get(
        "/.well-known/oauth-authorization-server", HTTP_HOST="attacker.example"
    ).json()
    assert metadata["issuer"] == "https://auth.example.com"
    for name in ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "jwks_uri"):
        assert metadata[name].startswith("https://auth.example.com/"), metadata[name]


def test_loopback_redirect_uris_accept_any_port(world):
    """RFC 8252 section 7.3, as django-oauth-toolkit applies it (docs/oauth.rst):
    a native app's loopback IP redirect URI matches on any port; other URIs,
    localhost included, match exactly."""
    app = world.app.application
    app.redirect_uris = "http://127.0.0.1:8765/callback http://localhost:8765/callback"
    app.save()
    assert app.redirect_uri_allowed("http://127.0.0.1:51234/callback")
    assert not app.redirect_uri_allowed("http://127.0.0.1:51234/other")
    assert not app.redirect_uri_allowed("http://localhost:51234/callback")
    assert app.redirect_uri_allowed("http://localhost:8765/callback")


def test_openapi_describes_the_authorization_code_flow_with_its_scopes():
    """The schema's OAuth scheme is the authorization code flow at the app's
    endpoints, with every scope of the vocabulary in plain words."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    scheme = schema["components"]["securitySchemes"]["OAuthAccessToken"]
    assert scheme["type"] == "oauth2"
    flow = scheme["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == "/api/auth/oauth2/authorize"
    assert flow["tokenUrl"] == flow["refreshUrl"] == "/api/auth/oauth2/token"
    assert "clients:read" in flow["scopes"] and all(flow["scopes"].values())
    clients = schema["paths"]["/api/v1/clients"]["get"]["security"]
    assert {"OAuthAccessToken": ["clients:read"]} in clients
