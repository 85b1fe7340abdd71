"""A deleted organization's OAuth app stops working in every process, even
when Redis missed the deletion: two gunicorn servers, the lookup cache on
Redis (killed, then restarted from a snapshot taken before the deletion),
PostgreSQL. The app's user belongs to *another* organization: the deletion
still reaches the tokens the app holds there."""

from __future__ import annotations

import time

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from django_apikeys.cache import OUTBOX_POLL_INTERVAL

from .conftest import Live
from .test_lifecycle_live import (
    _helper,
    _restart_redis_from_snapshot,
    _snapshot_and_kill_redis,
)
from .test_oauth_live import PASSWORD, REDIRECT_URI, _consent, _get, _login

pytestmark = pytest.mark.live


def test_deleted_organizations_app_is_refused_everywhere_after_redis_missed_it(
    live: Live,
) -> None:
    scene = _helper(live, "oauth-scene", REDIRECT_URI, PASSWORD)
    client = OAuth2Session(
        scene["client_id"],
        scene["client_secret"],
        scope="clients:read",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    authorize_url, _state = client.create_authorization_url(
        live.servers[0] + "/api/auth/oauth2/authorize", code_verifier=verifier
    )
    browser = _login(live, 0, scene["username"])
    callback = _consent(browser, authorize_url, scene["users_org"])
    token = client.fetch_token(
        live.servers[1] + "/api/auth/oauth2/token",
        authorization_response=callback,
        code_verifier=verifier,
    )
    for number in (0, 1, 0, 1, 0, 1):  # warm the lookup cache in every worker
        assert _get(live, number, token["access_token"]).status_code == 200

    _snapshot_and_kill_redis(live)
    _helper(live, "delete-organization", scene["apps_org"])
    _restart_redis_from_snapshot(live)
    time.sleep(OUTBOX_POLL_INTERVAL + 0.2)

    after = [_get(live, n % 2, token["access_token"]) for n in range(10)]
    admitted = sum(r.status_code == 200 for r in after)
    refreshed = requests.post(
        live.servers[1] + "/api/auth/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(scene["client_id"], scene["client_secret"]),
        timeout=10,
    )
    consent = browser.get(authorize_url, timeout=10)
    print(
        f"\n[live] app of a deleted organization, Redis back from a snapshot: access token "
        f"{admitted}/{len(after)} admitted, refresh {refreshed.status_code}, "
        f"consent page {consent.status_code}"
    )
    assert {(r.status_code, r.json()["code"]) for r in after} == {(401, "token_revoked")}
    assert (refreshed.status_code, refreshed.json()["error"]) == (401, "invalid_client")
    assert consent.status_code == 400
    assert 'name="allow"' not in consent.text
