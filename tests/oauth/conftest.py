"""Fixtures for the OAuth tests: an organization, its Owner, a registered app,
and helpers that walk the authorization-code + PKCE flow with Django's client."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from django_apikeys.oauth import services
from tests.factories import MembershipFactory, OrganizationFactory, role

SCOPES = [
    f"{resource}:{action}"
    for resource in ("clients", "invoices", "products", "reports")
    for action in ("read", "write")
]
REDIRECT_URI = "http://localhost:8765/callback"
OAUTH_KEY_DIR = Path(__file__).resolve().parents[2] / "example_project/example/oauth_keys"
AUTHORIZE = "/api/auth/oauth2/authorize"
TOKEN = "/api/auth/oauth2/token"
REVOKE = "/api/auth/oauth2/revoke"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


@dataclass
class World:
    org: Any
    owner: Any  # Membership
    app: Any  # OAuthApp
    secret: str | None
    client: Client

    @property
    def client_id(self) -> str:
        return str(self.app.application.client_id)

    def authorize_params(self, **overrides: Any) -> dict[str, str]:
        verifier, challenge = pkce_pair()
        self.verifier = verifier
        params = {
            "client_id": self.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "clients:read clients:write",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "xyz-state",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def consent(self, org: Any = None, allow: bool = True, **overrides: Any) -> Any:
        """GET the consent page then POST the decision; returns the POST response."""
        params = self.authorize_params(**overrides)
        url = f"{AUTHORIZE}?{urlencode(params)}"
        page = self.client.get(url)
        assert page.status_code == 200, page.content[:2000]
        form = page.context["form"]
        data = {name: form.initial.get(name) or "" for name in form.fields if name != "allow"}
        data["organization"] = str((org or self.org).pk)
        if allow:
            data["allow"] = "Authorize"
        return self.client.post(url, data)

    def code(self, **kwargs: Any) -> str:
        response = self.consent(**kwargs)
        assert response.status_code == 302, response.content[:2000]
        query = parse_qs(urlsplit(response["Location"]).query)
        assert "code" in query, response["Location"]
        return query["code"][0]

    def exchange(self, code: str, verifier: str | None = None, **extra: str) -> Any:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": self.client_id,
            "code_verifier": verifier if verifier is not None else self.verifier,
        }
        if self.secret:
            data["client_secret"] = self.secret
        data.update(extra)
        return Client().post(TOKEN, data)

    def tokens(self, **kwargs: Any) -> dict[str, Any]:
        response = self.exchange(self.code(**kwargs))
        assert response.status_code == 200, response.content
        return response.json()  # type: ignore[no-any-return]

    def refresh(self, refresh_token: str) -> Any:
        data = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
        }
        if self.secret:
            data["client_secret"] = self.secret
        return Client().post(TOKEN, data)


@pytest.fixture(autouse=True)
def _oauth_settings(settings: Any) -> None:
    settings.APIKEYS = {"SCOPE_VOCABULARY": SCOPES, "CLAIM_ALL_BEARER_TOKENS": False}
    settings.EXAMPLE_API = {
        "server_types": ["server", "user", "session", "oauth"],
        "browser_types": ["publishable", "server"],
        "ingest_types": ["server"],
    }


def make_world(confidential: bool = True, scopes: list[str] | None = None) -> World:
    org = OrganizationFactory()
    owner = MembershipFactory(organization=org, role=role("Owner"))
    app, secret = services.register_app(
        organization=org,
        name="Zapier-class integration",
        redirect_uris=[REDIRECT_URI],
        scopes=scopes or ["clients:read", "clients:write", "invoices:read", "products:read"],
        confidential=confidential,
        actor=owner.user,
    )
    client = Client()
    client.force_login(owner.user)
    return World(org=org, owner=owner, app=app, secret=secret, client=client)


@pytest.fixture
def world(db: Any) -> World:
    return make_world()


@pytest.fixture
def public_world(db: Any) -> World:
    return make_world(confidential=False)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
