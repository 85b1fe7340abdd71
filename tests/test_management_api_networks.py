"""``allowed_ips`` through the management API and ``services.update_key``:
set on create, changed by PATCH (normalised, audited), refused when an entry
is neither an address nor a network, enforced on the next request."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from django_apikeys import services
from django_apikeys.models import AuditEvent
from tests.factories import make_key
from tests.test_management_api import Org, _org, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Org:
    return _org()


ME = "/api/v1/me"


def test_create_with_allowed_ips_and_read_them_back(org):
    client = client_for(org, "Owner", "session")
    response = client.post(
        org.url + "keys/",
        {
            "name": "Backend",
            "key_type": "server",
            "scopes": ["clients:read"],
            "allowed_ips": ["203.0.113.0/24", "2001:db8::1/128", "203.0.113.0/24"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["allowed_ips"] == ["2001:db8::1", "203.0.113.0/24"]
    detail = client.get(org.url + f"keys/{body['id']}/").json()
    assert detail["allowed_ips"] == ["2001:db8::1", "203.0.113.0/24"]


def test_patch_allowed_ips_is_normalised_audited_and_enforced(org, api_client):
    client = client_for(org, "Owner", "session")
    key, raw = make_key(org.organization, "server", scopes=["*"])
    url = org.url + f"keys/{key.pk}/"
    response = client.patch(url, {"allowed_ips": [" 198.51.100.7/32 "]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["allowed_ips"] == ["198.51.100.7"]
    event = AuditEvent.objects.get(action="key.updated", target_id=str(key.pk))
    assert event.details["changes"]["allowed_ips"] == {"from": [], "to": ["198.51.100.7"]}
    refused = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="192.0.2.1")
    assert (refused.status_code, refused.json()["code"]) == (403, "ip_not_allowed")
    allowed = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="198.51.100.7")
    assert allowed.status_code == 200
    cleared = client.patch(url, {"allowed_ips": []}, format="json")
    assert cleared.json()["allowed_ips"] == []
    anywhere = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="192.0.2.1")
    assert anywhere.status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        ["not-an-ip"],
        ["10.0.0.5/24"],
        "203.0.113.7",
        [""],
        [f"10.0.{i // 256}.{i % 256}" for i in range(101)],
    ],
)
def test_bad_allowed_ips_are_a_400_naming_the_field(org, value):
    client = client_for(org, "Owner", "session")
    url = org.url + f"keys/{org.target_key.pk}/"
    response = client.patch(url, {"allowed_ips": value}, format="json")
    assert response.status_code == 400, response.content
    assert "allowed_ips" in response.json()
    org.target_key.refresh_from_db()
    assert org.target_key.allowed_ips == []


def test_update_key_service_checks_networks():
    key, _raw = make_key()
    with pytest.raises(ValidationError) as refused:
        services.update_key(key, allowed_ips=["999.1.1.1"])
    assert refused.value.error_dict["allowed_ips"][0].code == "invalid_ip"
    services.update_key(key, allowed_ips=["2001:DB8::/32"])
    key.refresh_from_db()
    assert key.allowed_ips == ["2001:db8::/32"]
