"""OAuth 2.0 against two live gunicorn servers (PostgreSQL + Redis, lookup cache on),
driven by a real third-party client: authlib's ``OAuth2Session`` doing PKCE
itself. Tokens are verified independently with PyJWT against the published
JWKS; revoking through one server is seen by the next request to the other."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from .conftest import Live

pytestmark = pytest.mark.live

REDIRECT_URI = "http://localhost:8765/callback"
PASSWORD = "live-oauth-password-1"
CLIENTS = "/api/v1/clients"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _login(live: Live, server: int, username: str) -> requests.Session:
    browser = requests.Session()
    url = live.servers[server] + "/accounts/login/"
    page = browser.get(url, timeout=10)
    response = browser.post(
        url,
        data={"csrfmiddlewaretoken": _csrf(page.text), "username": username, "password": PASSWORD},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return browser


def _consent(browser: requests.Session, authorize_url: str, org: str) -> str:
    """The user approves on the consent page; returns the redirect with the code."""
    page = browser.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text[:1000]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    import html

    data = {name: html.unescape(value) for name, value in fields.items()}
    data.update(organization=org, allow="Authorize")
    response = browser.post(
        authorize_url,
        data=data,
        headers={"Referer": authorize_url},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:1000]
    return str(response.headers["Location"])


def _get(live: Live, server: int, token: str) -> requests.Response:
    return requests.get(
        live.servers[server] + CLIENTS, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_third_party_client_full_flow_and_cross_process_revocation(live: Live) -> None:
    app = live.helper("oauth-app", REDIRECT_URI, PASSWORD)
    server = live.servers[0]
    client = OAuth2Session(
        app["client_id"],
        app["client_secret"],
        scope="clients:read",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    from authlib.common.security import generate_token

    verifier = generate_token(64)
    authorize_url, state = client.create_authorization_url(
        server + "/api/auth/oauth2/authorize", code_verifier=verifier
    )
    assert "code_challenge=" in authorize_url and "code_challenge_method=S256" in authorize_url

    browser = _login(live, 0, app["username"])
    callback = _consent(browser, authorize_url, app["org"])
    assert parse_qs(urlsplit(callback).query)["state"] == [state]

    token = client.fetch_token(
        live.servers[1] + "/api/auth/oauth2/token",  # the code works on either process
        authorization_response=callback,
        code_verifier=verifier,
    )
    assert token["token_type"].lower() == "bearer" and token["expires_in"] == 3600

    # Verified independently: PyJWT against the published JWKS and RFC 8414 metadata.
    metadata = requests.get(server + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    jwks = jwt.PyJWKClient(server + "/.well-known/jwks.json")
    signing_key = jwks.get_signing_key_from_jwt(token["access_token"])
    claims = jwt.decode(
        token["access_token"],
        signing_key.key,
        algorithms=["RS256"],
        audience=metadata["issuer"],
        issuer=metadata["issuer"],
    )
    assert claims["org"] == app["org"]
    assert claims["scope"] == "clients:read"
    assert claims["client_id"] == app["client_id"]

    for number in (0, 1, 0, 1, 0, 1):  # both servers, all workers: warms the lookup cache
        assert _get(live, number, token["access_token"]).status_code == 200

    refreshed = client.refresh_token(
        server + "/api/auth/oauth2/token", refresh_token=token["refresh_token"]
    )
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert _get(live, 1, refreshed["access_token"]).status_code == 200

    # The user revokes the app on server 0 ...
    page = browser.get(server + "/apikeys/oauth/authorized/", timeout=10)
    action = re.search(r'action="(/apikeys/oauth/authorized/[^"]+/revoke/)"', page.text)
    assert action, page.text[:1000]
    revoked = browser.post(
        server + action.group(1),
        data={"csrfmiddlewaretoken": _csrf(page.text)},
        headers={"Referer": server + "/apikeys/oauth/authorized/"},
        allow_redirects=False,
        timeout=10,
    )
    assert revoked.status_code == 302

    # ... and the very next request to server 1 is refused, as every later one.
    after = [_get(live, (n + 1) % 2, refreshed["access_token"]) for n in range(10)]
    admitted = sum(r.status_code == 200 for r in after)
    print(f"\n[live] OAuth requests admitted after revocation (cache on, 2 servers): {admitted}")
    assert after[0].status_code == 401
    assert after[0].json()["code"] == "token_revoked"
    assert after[0].headers["WWW-Authenticate"].endswith('error="invalid_token"')
    assert admitted == 0
    assert _get(live, 0, token["access_token"]).json()["code"] == "token_revoked"
