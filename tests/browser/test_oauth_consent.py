"""The OAuth consent page in a real Chromium: login → pick organization →
approve → redirect with a code (exchanged and used on the API); deny →
``access_denied``. The app's redirect URI is intercepted by the browser."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from django_apikeys.oauth import services
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, role
from tests.oauth.conftest import SCOPES, pkce_pair

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles_each_test"),
]

REDIRECT_URI = "http://localhost:8765/callback"


@pytest.fixture(autouse=True)
def _oauth_settings(settings: Any) -> None:
    settings.APIKEYS = {"SCOPE_VOCABULARY": SCOPES, "CLAIM_ALL_BEARER_TOKENS": False}
    settings.EXAMPLE_API = {
        "server_types": ["server", "user", "session", "oauth"],
        "browser_types": ["publishable", "server"],
        "ingest_types": ["server"],
    }


@pytest.fixture
def setup() -> dict[str, Any]:
    acme = OrganizationFactory(name="Acme Corp")
    globex = OrganizationFactory(name="Globex")
    user = UserFactory(username="consenter")
    MembershipFactory(organization=acme, user=user, role=role("Editor"))
    MembershipFactory(organization=globex, user=user, role=role("Owner"))
    app, secret = services.register_app(
        organization=acme,
        name="Zapier-class integration",
        redirect_uris=[REDIRECT_URI],
        scopes=["clients:read", "products:read"],
        confidential=True,
        actor=None,
    )
    verifier, challenge = pkce_pair()
    query = urlencode(
        {
            "client_id": app.application.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "clients:read",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "st-123",
        }
    )
    return {
        "acme": acme,
        "globex": globex,
        "app": app,
        "secret": secret,
        "verifier": verifier,
        "url": f"/api/auth/oauth2/authorize?{query}",
    }


def _intercept_callback(page: Any) -> None:
    page.route(
        re.compile(r"^http://localhost:8765/.*"),
        lambda route: route.fulfill(status=200, body="callback", content_type="text/plain"),
    )


def _login_then_consent_page(page: Any, url: str) -> None:
    page.goto(url)
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("consenter")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/api/auth/oauth2/authorize\?"))


def test_login_pick_organization_approve_and_use_the_token(page, api, screenshot, setup):
    _intercept_callback(page)
    _login_then_consent_page(page, setup["url"])
    assert page.get_by_role("heading", name=re.compile("Authorize")).is_visible()
    assert page.get_by_text("See your clients").first.is_visible()
    # Editor in Acme: no clients:read there, so Acme cannot be picked; Globex can.
    acme = page.locator(f'input[name="organization"][value="{setup["acme"].pk}"]')
    assert acme.is_disabled()
    page.locator(f'input[name="organization"][value="{setup["globex"].pk}"]').check()
    screenshot("oauth-consent")
    page.locator("#approve").click()
    page.wait_for_url(re.compile(r"^http://localhost:8765/callback\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["st-123"]

    token = api.post(
        "/api/auth/oauth2/token",
        form={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT_URI,
            "client_id": setup["app"].application.client_id,
            "client_secret": setup["secret"],
            "code_verifier": setup["verifier"],
        },
    )
    assert token.status == 200, token.text()
    access = token.json()["access_token"]
    response = api.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert response.status == 200
    assert response.json()["organization"] == str(setup["globex"].pk)
    assert api.get("/api/v1/clients", headers={"Authorization": f"Bearer {access}"}).status == 200


def test_deny_returns_access_denied(page, setup):
    _intercept_callback(page)
    _login_then_consent_page(page, setup["url"])
    page.locator("#deny").click()
    page.wait_for_url(re.compile(r"^http://localhost:8765/callback\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st-123"]
