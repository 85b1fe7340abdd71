"""``APIKEYS_OAUTH["ORGANIZATION_CLAIM"]``: the wire name of the organization claim."""

from __future__ import annotations

import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured

from django_apikeys.oauth.conf import oauth_settings

from .conftest import bearer

pytestmark = pytest.mark.django_db


def test_default_is_org(world, api_client):
    token = world.tokens(scope="clients:read")["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["org"] == str(world.org.pk)


def test_a_configured_name_is_minted_and_read(world, api_client, settings):
    settings.APIKEYS_OAUTH = {**settings.APIKEYS_OAUTH, "ORGANIZATION_CLAIM": "tenant"}
    token = world.tokens(scope="clients:read")["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["tenant"] == str(world.org.pk) and "org" not in claims
    assert api_client.get("/api/v1/clients", **bearer(token)).status_code == 200


@pytest.mark.parametrize("name", ["", "sub", "scope", "grant", 7])
def test_a_name_that_would_shadow_another_claim_is_refused(settings, name):
    settings.APIKEYS_OAUTH = {**settings.APIKEYS_OAUTH, "ORGANIZATION_CLAIM": name}
    with pytest.raises(ImproperlyConfigured, match="ORGANIZATION_CLAIM"):
        oauth_settings.organization_claim  # noqa: B018
