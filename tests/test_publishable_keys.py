"""Publishable keys: allowed origins enforced and validated; no scopes unless asked."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.factories import bearer, make_key

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


# --- allowed origins ------------------------------------------------------------------------


def test_allowed_origins(api_client):
    api_key, raw = make_key(
        key_type="publishable", scopes=["assess"], allowed_origins=["HTTPS://Shop.Example/"]
    )
    assert api_key.allowed_origins == ["https://shop.example"]
    other, _ = make_key(
        api_key.organization,
        "publishable",
        scopes=["assess"],
        allowed_origins=["https://shop.example:443", "http://localhost:80", "http://a.b:8080"],
    )
    assert other.allowed_origins == ["http://a.b:8080", "http://localhost", "https://shop.example"]
    ok = api_client.get(ME, HTTP_ORIGIN="https://shop.example", **bearer(raw))
    assert ok.status_code == 200
    for headers in ({"HTTP_ORIGIN": "https://evil.example"}, {}):
        response = api_client.get(ME, **headers, **bearer(raw))
        assert (response.status_code, response.json()["code"]) == (403, "origin_not_allowed")
    _, unrestricted = make_key(api_key.organization, "publishable", scopes=["assess"])
    assert api_client.get(ME, **bearer(unrestricted)).status_code == 200


@pytest.mark.parametrize(
    "origin", ["shop.example", "ftp://shop.example", "https://shop.example/path", "https://a b"]
)
def test_bad_origins_are_refused(origin):
    with pytest.raises(ValidationError) as exc:
        make_key(key_type="publishable", scopes=["assess"], allowed_origins=[origin])
    assert exc.value.error_dict["allowed_origins"][0].code == "invalid_origin"


# --- defaults and extension points -------------------------------------------------------------


def test_publishable_keys_get_no_scopes_unless_asked():
    api_key, _ = make_key(key_type="publishable")
    assert api_key.scopes == []
