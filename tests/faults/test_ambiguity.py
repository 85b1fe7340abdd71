"""Ambiguity refused (issue 14, item 6): two credentials, or an id that might exist elsewhere."""

from __future__ import annotations

import pytest
from example.api.models import Client

from tests.factories import make_key

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def test_keys_of_two_organizations_in_one_request_are_refused(api_client):
    _a, raw_a = make_key()
    _b, raw_b = make_key()
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw_a}", HTTP_X_API_KEY=raw_b)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "ambiguous_credentials" and body["type"] == "AuthenticationError"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_same_key_in_both_headers_is_one_credential(api_client):
    api_key, raw = make_key()
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_API_KEY=raw)
    assert response.status_code == 200
    assert response.json()["key_hint"] == api_key.hint


def test_a_foreign_bearer_token_and_a_key_are_refused(api_client, settings):
    settings.APIKEYS = {"CLAIM_ALL_BEARER_TOKENS": False}
    _a, raw = make_key()
    response = api_client.get(
        ME, HTTP_AUTHORIZATION="Bearer eyJhbGciOi.e30.sig", HTTP_X_API_KEY=raw
    )
    assert response.status_code == 401
    assert response.json()["code"] == "ambiguous_credentials"


def test_a_bearer_key_and_an_allowed_query_key_are_refused(api_client, settings):
    settings.APIKEYS = {"ALLOW_KEY_IN_QUERY": True}
    _a, raw_a = make_key()
    _b, raw_b = make_key()
    response = api_client.get(ME, {"api_key": raw_b}, HTTP_AUTHORIZATION=f"Bearer {raw_a}")
    assert response.json()["code"] == "ambiguous_credentials"


def test_not_yours_and_does_not_exist_answer_the_same(api_client):
    mine, raw = make_key(scopes=["clients:read"])
    theirs, _other_raw = make_key()
    own = Client.objects.create(organization=mine.organization, name="Mine")
    foreign = Client.objects.create(organization=theirs.organization, name="Theirs")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert api_client.get(f"/api/v1/clients/{own.pk}", **auth).status_code == 200
    not_yours = api_client.get(f"/api/v1/clients/{foreign.pk}", **auth)
    missing = api_client.get(f"/api/v1/clients/{foreign.pk + 1000}", **auth)
    assert not_yours.status_code == missing.status_code == 404
    assert not_yours.json() == missing.json()
    assert dict(not_yours.headers).keys() == dict(missing.headers).keys()
