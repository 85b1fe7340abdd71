import pytest

from tests.factories import MembershipFactory, make_key

pytestmark = pytest.mark.django_db


def test_server_key_round_trip(api_client):
    api_key, raw = make_key()
    response = api_client.get("/api/v1/clients", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200, response.content
    response = api_client.get("/api/v1/me", HTTP_X_API_KEY=raw)
    assert response.json()["key_hint"] == api_key.hint


def test_user_key(api_client):
    m = MembershipFactory()
    api_key, raw = make_key(m.organization, "user", user=m.user)
    response = api_client.get("/api/v1/clients", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200, response.content
