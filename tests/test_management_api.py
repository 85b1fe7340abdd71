"""The management API (``django_apikeys.api``): every endpoint × role × credential
kind, journeys, IDOR, escalation through hand-written bodies, pagination.

The raw-key search lives in ``test_management_api_raw_key.py``, the schema
and schemathesis in ``test_openapi*.py``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from django_apikeys import services
from django_apikeys.api.permissions import MANAGEMENT_SCOPES
from django_apikeys.keys import display_hint, verify_format
from django_apikeys.models import APIKey, AuditEvent, Membership, Organization
from django_apikeys.scopes import grants
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key, role

pytestmark = pytest.mark.django_db

BASE = "/api/manage/organizations/"
ROLES = ["Owner", "Manager", "Billing", "Editor"]


@dataclass
class Org:
    organization: Organization
    members: dict[str, Membership]
    target_key: APIKey
    keys: dict[tuple[str, str], str] = field(default_factory=dict)

    def user(self, role_name: str) -> Any:
        return self.members[role_name].user

    @property
    def url(self) -> str:
        return f"{BASE}{self.organization.pk}/"


def _org() -> Org:
    organization = OrganizationFactory()
    members = {
        name: MembershipFactory(organization=organization, role=role(name)) for name in ROLES
    }
    target, _raw = make_key(organization, "server", scopes=["clients:read"])
    return Org(organization, members, target)


@pytest.fixture
def org() -> Org:
    return _org()


@pytest.fixture
def other() -> Org:
    return _org()


def client_for(org: Org, role_name: str, kind: str, scopes: list[str] | None = None) -> APIClient:
    """A client authenticated as ``role_name`` with a ``kind`` credential:
    ``session``, ``user`` (a user key) or ``server`` (an organization key the
    member created)."""
    client = APIClient()
    user = org.user(role_name)
    if kind == "session":
        client.force_login(user)
        return client
    # The key carries the scopes asked for; the live role decides what they
    # are worth (user keys: key scopes ∩ role scopes; both: role permission).
    key, raw = (
        make_key(
            org.organization,
            kind,
            scopes=[*MANAGEMENT_SCOPES, "clients:read"] if scopes is None else scopes,
        )
        if kind != "user"
        else make_key(
            org.organization,
            kind,
            user=user,
            scopes=[*MANAGEMENT_SCOPES, "clients:read"] if scopes is None else scopes,
        )
    )
    APIKey.objects.filter(pk=key.pk).update(created_by=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# (name, method, path under the org, body, role permission needed)
ENDPOINTS: list[tuple[str, str, str, dict[str, Any] | None, str]] = [
    ("organization", "get", "", None, "organization.view_organization"),
    ("key_types", "get", "key-types/", None, "organization.manage_api_keys"),
    ("keys_list", "get", "keys/", None, "organization.manage_api_keys"),
    (
        "keys_create",
        "post",
        "keys/",
        {"name": "ci", "key_type": "server", "scopes": ["clients:read"]},
        "organization.manage_api_keys",
    ),
    ("key_detail", "get", "keys/{key}/", None, "organization.manage_api_keys"),
    ("key_update", "patch", "keys/{key}/", {"name": "renamed"}, "organization.manage_api_keys"),
    ("key_roll", "post", "keys/{key}/roll/", {"grace_period": 0}, "organization.manage_api_keys"),
    ("key_revoke", "post", "keys/{key}/revoke/", None, "organization.manage_api_keys"),
    ("roles", "get", "roles/", None, "organization.manage_members"),
    ("members_list", "get", "members/", None, "organization.manage_members"),
    (
        "members_add",
        "post",
        "members/",
        {"email": "newcomer@example.com", "role": "Editor"},
        "organization.manage_members",
    ),
    ("member_detail", "get", "members/{member}/", None, "organization.manage_members"),
    (
        "member_change",
        "patch",
        "members/{member}/",
        {"role": "Billing"},
        "organization.manage_members",
    ),
    ("member_remove", "delete", "members/{member}/", None, "organization.manage_members"),
    ("usage", "get", "usage/", None, "organization.manage_billing"),
    ("audit", "get", "audit/", None, "organization.manage_members"),
]

#: The management scope of each endpoint.
SCOPES = {
    name: {
        "organization": "organizations",
        "key_types": "api_keys",
        "keys_list": "api_keys",
        "keys_create": "api_keys",
        "key_detail": "api_keys",
        "key_update": "api_keys",
        "key_roll": "api_keys",
        "key_revoke": "api_keys",
        "usage": "usage",
        "audit": "audit",
    }.get(name, "members")
    + (":read" if method == "get" else ":write")
    for name, method, *_rest in ENDPOINTS
}
SUCCESS = {"get": 200, "post": 200, "patch": 200, "delete": 204}
CREATED = {"keys_create", "key_roll", "members_add"}


def _path(org: Org, template: str) -> str:
    member = org.members["Editor"].pk
    return org.url + template.format(key=org.target_key.pk, member=member)


def _expected(
    name: str, method: str, role_name: str, kind: str, permission: str, scope: str
) -> tuple[int, str | None]:
    the_role = role(role_name)
    if kind == "user" and not grants(the_role.scopes, scope):
        return 403, "insufficient_scope"  # a user key is worth its owner's role scopes
    own_only = (
        kind != "server"  # an organization key never acts in own-keys mode
        and permission == "organization.manage_api_keys"
        and permission not in the_role.permissions
        and "organization.manage_own_api_keys" in the_role.permissions
    )
    if own_only and name != "keys_create":
        # Their own keys only: the list is theirs, someone else's key is not found.
        return (200, None) if name in ("key_types", "keys_list") else (404, "not_found")
    if permission not in the_role.permissions:
        return 403, "permission_denied"
    if kind == "server" and name in ("members_add", "member_change", "member_remove"):
        return 403, "permission_denied"  # organization keys never change members
    if name in CREATED:
        return 201, None
    return SUCCESS[method], None


@pytest.mark.parametrize("kind", ["session", "user", "server"])
@pytest.mark.parametrize("role_name", ROLES)
@pytest.mark.parametrize(
    "name,method,template,body,permission", ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_permission_matrix(org, name, method, template, body, permission, role_name, kind):
    UserFactory(username="newcomer")
    client = client_for(org, role_name, kind)
    response = getattr(client, method)(_path(org, template), body, format="json")
    expected, code = _expected(name, method, role_name, kind, permission, SCOPES[name])
    assert response.status_code == expected, response.content
    if code:
        assert response.json()["code"] == code


@pytest.mark.parametrize(
    "name,method,template,body,permission", ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_anonymous_gets_401(org, name, method, template, body, permission):
    response = getattr(APIClient(), method)(_path(org, template), body, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "name,method,template,body,permission", ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
@pytest.mark.parametrize("kind", ["session", "user", "server"])
def test_cross_organization_idor_is_403_organization_mismatch(
    org, other, name, method, template, body, permission, kind
):
    """Every endpoint, with the other organization in the URL (and its object
    ids): 403 ``organization_mismatch``, nothing touched."""
    UserFactory(username="newcomer")
    client = client_for(org, "Owner", kind)
    before = (APIKey.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    response = getattr(client, method)(_path(other, template), body, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "organization_mismatch"
    after = (APIKey.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    assert after == before
    other.target_key.refresh_from_db()
    assert other.target_key.is_usable and other.target_key.name == "server key"


#: Endpoints with an object id, per credential kind (organization keys are
#: refused member changes before any lookup: 403, tested in the matrix).
OBJECT_CASES = [
    pytest.param(*endpoint, kind, id=f"{kind}-{endpoint[0]}")
    for endpoint in ENDPOINTS
    if "{" in endpoint[2]
    for kind in ("session", "user", "server")
    if not (kind == "server" and endpoint[1] != "get" and "member" in endpoint[0])
]


@pytest.mark.parametrize("name,method,template,body,permission,kind", OBJECT_CASES)
def test_object_of_another_organization_is_404(
    org, other, name, method, template, body, permission, kind
):
    """Own organization in the URL, the other's key or membership id: 404
    ``not_found``, the same as an id that does not exist."""
    client = client_for(org, "Owner", kind)
    path = org.url + template.format(key=other.target_key.pk, member=other.members["Editor"].pk)
    response = getattr(client, method)(path, body, format="json")
    assert response.status_code == 404, response.content
    assert response.json() == {
        "detail": response.json()["detail"],
        "code": "not_found",
        "type": "NotFoundError",
    }
    missing = org.url + template.format(key="00000000-0000-0000-0000-000000000000", member=999999)
    assert getattr(client, method)(missing, body, format="json").status_code == 404
    junk = org.url + template.format(key="not-a-uuid", member="x")
    assert getattr(client, method)(junk, body, format="json").status_code == 404
    other.target_key.refresh_from_db()
    assert other.target_key.is_usable


def test_organization_list_shows_own_organizations_only(org, other):
    user = org.user("Editor")
    MembershipFactory(
        user=user, organization=OrganizationFactory(name="Second"), role=role("Billing")
    )
    client = APIClient()
    client.force_login(user)
    body = client.get(BASE).json()
    assert body["count"] == 2
    assert {o["role"] for o in body["results"]} == {"Editor", "Billing"}
    assert str(other.organization.pk) not in {o["id"] for o in body["results"]}


def test_organization_list_for_a_key_is_its_own_organization(org):
    user = org.user("Owner")
    MembershipFactory(user=user, organization=OrganizationFactory(), role=role("Owner"))
    client = client_for(org, "Owner", "user")
    body = client.get(BASE).json()
    assert [o["id"] for o in body["results"]] == [str(org.organization.pk)]
    assert body["results"][0]["permissions"] == role("Owner").permissions


def test_organization_by_slug(org):
    client = client_for(org, "Owner", "session")
    response = client.get(f"{BASE}{org.organization.slug}/keys/")
    assert response.status_code == 200


# --- scopes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scopes,method,path,status",
    [
        (["api_keys:read"], "get", "keys/", 200),
        (["api_keys:read"], "post", "keys/", 403),
        (["api_keys:write"], "get", "keys/", 403),
        (["members:read"], "get", "members/", 200),
        (["members:read"], "post", "members/", 403),
        (["usage:read"], "get", "usage/", 200),
        (["audit:read"], "get", "audit/", 200),
        (["organizations:read"], "get", "", 200),
        (["api_keys:read"], "get", "", 403),
        (["clients:read"], "get", "keys/", 403),
    ],
)
def test_keys_need_the_management_scope(org, scopes, method, path, status):
    client = client_for(org, "Owner", "user", scopes=scopes)
    body = {"name": "x", "key_type": "server", "scopes": ["clients:read"]}
    response = getattr(client, method)(org.url + path, body, format="json")
    assert response.status_code == status, response.content
    if status == 403:
        assert response.json()["code"] == "insufficient_scope"
        assert response.json()["required_scopes"]


def test_publishable_keys_are_never_management_credentials(org):
    _key, raw = make_key(org.organization, "publishable", scopes=[])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.get(org.url + "keys/")
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_key_type"


def test_read_only_key_type_cannot_write(org, settings):
    settings.APIKEYS = {
        "KEY_TYPES": {
            "server": {"prefix": "sk"},
            "test": {"prefix": "tk", "read_only": True},
        }
    }
    _key, raw = make_key(org.organization, "test", created_by=org.user("Owner"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(org.url + "keys/").status_code == 200
    response = client.post(
        org.url + "keys/", {"name": "x", "key_type": "server", "scopes": ["a:read"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_key"


# --- the person behind an organization key ----------------------------------------


def test_organization_key_acts_with_its_creators_live_role(org):
    client = client_for(org, "Manager", "server")
    assert client.get(org.url + "keys/").status_code == 200
    services.change_role(org.members["Manager"], role("Billing"))
    response = client.get(org.url + "keys/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_organization_key_whose_creator_left_can_do_nothing(org):
    client = client_for(org, "Manager", "server")
    services.remove_member(org.members["Manager"])
    for path in ("", "keys/", "usage/", "audit/"):
        assert client.get(org.url + path).status_code == 403
    assert client.get(BASE).json()["count"] == 0


def test_organization_key_without_creator_can_do_nothing(org):
    _key, raw = make_key(org.organization, "server", scopes=MANAGEMENT_SCOPES)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(org.url + "keys/").status_code == 403


def test_organization_key_cannot_create_or_roll_user_keys(org):
    client = client_for(org, "Owner", "server")
    response = client.post(
        org.url + "keys/",
        {"name": "x", "key_type": "user", "scopes": ["clients:read"]},
        format="json",
    )
    assert response.status_code == 403
    user_key, _raw = make_key(
        org.organization, "user", user=org.user("Owner"), created_by=org.user("Owner")
    )
    response = client.post(org.url + f"keys/{user_key.pk}/roll/", {}, format="json")
    assert response.status_code == 403
    assert APIKey.objects.filter(replaces=user_key).count() == 0


# --- keys: journeys ----------------------------------------------------------------


def test_create_use_roll_revoke_journey(org):
    client = client_for(org, "Manager", "user")
    response = client.post(
        org.url + "keys/",
        {
            "name": "CI",
            "key_type": "server",
            "scopes": ["clients:read"],
            "rate_limit_per_minute": 5,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert "no-store" in response["Cache-Control"]
    created = response.json()
    raw = created["key"]
    assert created["hint"] == display_hint(raw, "_") and verify_format(raw)
    assert created["created_by"]["username"] == org.user("Manager").username
    assert created["user"] is None and created["rate_limit_per_minute"] == 5

    use = APIClient()
    use.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert use.get("/api/v1/clients").status_code == 200

    detail = client.get(org.url + f"keys/{created['id']}/").json()
    assert "key" not in detail and detail["status"] == "active"

    rolled = client.post(
        org.url + f"keys/{created['id']}/roll/", {"grace_period": 0}, format="json"
    )
    assert rolled.status_code == 201, rolled.content
    assert "no-store" in rolled["Cache-Control"]
    new = rolled.json()
    assert new["replaces"] == created["id"] and new["key"] != raw
    assert use.get("/api/v1/clients").status_code == 401  # grace 0: old one revoked
    use.credentials(HTTP_AUTHORIZATION=f"Bearer {new['key']}")
    assert use.get("/api/v1/clients").status_code == 200

    again = client.post(org.url + f"keys/{created['id']}/roll/", {}, format="json")
    assert again.status_code == 400 and again.json()["code"] == "key_not_active"

    revoked = client.post(org.url + f"keys/{new['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert use.get("/api/v1/clients").status_code == 401
    assert client.post(org.url + f"keys/{new['id']}/revoke/").status_code == 200

    actions = list(
        AuditEvent.objects.filter(organization=org.organization)
        .order_by("created_at")
        .values_list("action", "actor_id")
    )
    assert [a for a, _ in actions][-3:] == ["key.created", "key.rolled", "key.revoked"]
    assert {actor for _, actor in actions[-3:]} == {org.user("Manager").pk}


def test_roll_with_grace_period_keeps_old_key_working(org):
    client = client_for(org, "Owner", "session")
    old, raw = make_key(org.organization, "server", scopes=["clients:read"])
    response = client.post(org.url + f"keys/{old.pk}/roll/", {"grace_period": 3600}, format="json")
    assert response.status_code == 201
    old.refresh_from_db()
    assert old.is_usable
    assert old.expires_at <= timezone.now() + datetime.timedelta(seconds=3601)
    assert client.post(org.url + f"keys/{old.pk}/roll/", {}, format="json").json()["code"] == (
        "already_rolled"
    )


@pytest.mark.parametrize("grace", [-1, 90 * 24 * 3600 + 1, "soon", None])
def test_roll_rejects_bad_grace_periods(org, grace):
    client = client_for(org, "Owner", "session")
    response = client.post(
        org.url + f"keys/{org.target_key.pk}/roll/", {"grace_period": grace}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRequestError"
    assert "grace_period" in response.json()


def test_user_key_created_through_the_api_belongs_to_the_caller(org):
    client = client_for(org, "Manager", "session")
    response = client.post(
        org.url + "keys/",
        {"name": "mine", "key_type": "user", "scopes": ["clients:read"]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["user"]["id"] == org.user("Manager").pk


def test_only_the_owner_rolls_a_user_key(org):
    owner_key, _raw = make_key(
        org.organization, "user", user=org.user("Owner"), created_by=org.user("Owner")
    )
    manager = client_for(org, "Manager", "session")
    response = manager.post(org.url + f"keys/{owner_key.pk}/roll/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    owner = client_for(org, "Owner", "session")
    assert owner.post(org.url + f"keys/{owner_key.pk}/roll/", {}, format="json").status_code == 201


def test_update_name_limits_origins_is_audited(org):
    client = client_for(org, "Owner", "user")
    key, _raw = make_key(org.organization, "publishable", scopes=["assess"])
    response = client.patch(
        org.url + f"keys/{key.pk}/",
        {
            "name": "Shop",
            "rate_limit_per_minute": 10,
            "allowed_origins": ["https://SHOP.example:443", "https://shop.example"],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Shop" and body["rate_limit_per_minute"] == 10
    assert body["allowed_origins"] == ["https://shop.example"]
    event = AuditEvent.objects.get(action="key.updated")
    assert event.actor == org.user("Owner")
    assert event.details["changes"]["name"] == {"from": "publishable key", "to": "Shop"}
    # No change, no event.
    client.patch(org.url + f"keys/{key.pk}/", {"name": "Shop"}, format="json")
    assert AuditEvent.objects.filter(action="key.updated").count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"scopes": ["*"]},
        {"key_type": "publishable"},
        {"name": "Shop", "user": 1},
        {"expires_at": None, "leaked_at": None},
    ],
)
def test_update_refuses_fields_it_cannot_change(org, body):
    """A PATCH that names a read-only field is 400 naming it, not a silent 200."""
    client = client_for(org, "Owner", "session")
    key = org.target_key
    response = client.patch(org.url + f"keys/{key.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert errors["code"] == "read_only_field"
    assert set(body) - {"name"} <= set(errors)
    key.refresh_from_db()
    assert (key.name, key.scopes, key.key_type) == ("server key", ["clients:read"], "server")


def test_leaked_at_is_shown(org):
    client = client_for(org, "Owner", "session")
    url = org.url + f"keys/{org.target_key.pk}/"
    assert client.get(url).json()["leaked_at"] is None
    stamp = timezone.now()
    APIKey.objects.filter(pk=org.target_key.pk).update(leaked_at=stamp)
    assert client.get(url).json()["leaked_at"] is not None


@pytest.mark.parametrize(
    "body,field",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"rate_limit_per_minute": -1}, "rate_limit_per_minute"),
        ({"rate_limit_per_day": 2**31}, "rate_limit_per_day"),
        ({"allowed_origins": ["javascript:alert(1)"]}, "allowed_origins"),
        ({"allowed_origins": "https://shop.example"}, "allowed_origins"),
        ({"allowed_origins": ["https://a.example"] * 21}, "allowed_origins"),
    ],
)
def test_update_rejects_bad_input(org, body, field):
    client = client_for(org, "Owner", "session")
    response = client.patch(org.url + f"keys/{org.target_key.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_revoked_key_cannot_be_edited(org):
    services.revoke_key(org.target_key)
    client = client_for(org, "Owner", "session")
    response = client.patch(org.url + f"keys/{org.target_key.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "key_not_active"


@pytest.mark.parametrize(
    "body,field,code",
    [
        ({"name": "x", "key_type": "nope", "scopes": ["a:read"]}, "key_type", "invalid_choice"),
        ({"name": "x", "key_type": "server", "scopes": []}, "scopes", "min_length"),
        ({"name": "x", "key_type": "server", "scopes": ["BAD SCOPE!"]}, "scopes", "invalid_scope"),
        (
            {"name": "x", "key_type": "publishable", "scopes": ["clients:write"]},
            "scopes",
            "scope_not_allowed",
        ),
        (
            {
                "name": "x",
                "key_type": "server",
                "scopes": ["a:read"],
                "expires_at": "2000-01-01T00:00:00Z",
            },
            "expires_at",
            "expiry_in_past",
        ),
        (
            {
                "name": "x",
                "key_type": "server",
                "scopes": ["a:read"],
                "expires_at": "9999-12-31T23:59:59Z",
            },
            "expires_at",
            "expiry_too_late",
        ),
        ({"name": "", "key_type": "server", "scopes": ["a:read"]}, "name", "blank"),
        ({"key_type": "server", "scopes": ["a:read"]}, "name", "required"),
    ],
)
def test_create_rejects_bad_input_with_codes(org, body, field, code, settings):
    settings.APIKEYS = {
        "KEY_TYPES": {
            "server": {"prefix": "sk"},
            "publishable": {"prefix": "pk", "publishable": True, "scopes": ["assess"]},
        }
    }
    client = client_for(org, "Owner", "session")
    response = client.post(org.url + "keys/", body, format="json")
    assert response.status_code == 400, response.content
    data = response.json()
    assert field in data and data["type"] == "InvalidRequestError"
    assert data["code"] == code
    assert APIKey.objects.count() == 1


def test_create_rejects_non_json_and_malformed_json(org):
    client = client_for(org, "Owner", "session")
    response = client.post(org.url + "keys/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    response = client.post(
        org.url + "keys/", "name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


# --- escalation through hand-written bodies ---------------------------------------


def test_key_cannot_mint_scopes_beyond_its_own(org):
    client = client_for(org, "Owner", "server", scopes=["api_keys:write", "api_keys:read"])
    response = client.post(
        org.url + "keys/", {"name": "x", "key_type": "server", "scopes": ["*"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "scope_exceeds_credential"
    assert not APIKey.objects.filter(scopes=["*"]).exists()


def test_key_cannot_roll_a_key_with_more_scopes_than_it_carries(org):
    wide, _raw = make_key(org.organization, "server", scopes=["*"])
    client = client_for(org, "Owner", "server", scopes=["api_keys:write", "api_keys:read"])
    response = client.post(org.url + f"keys/{wide.pk}/roll/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert not APIKey.objects.filter(replaces=wide).exists()


def test_user_key_cannot_mint_beyond_its_owners_role(org):
    # A custom role: may manage keys, holds only api_keys:* and clients:read.
    from django_apikeys.models import Role

    limited = Role.objects.create(
        name="KeyClerk",
        permissions=["organization.view_organization", "organization.manage_api_keys"],
        scopes=["api_keys:*", "clients:read"],
    )
    clerk = MembershipFactory(organization=org.organization, role=limited).user
    _key, raw = make_key(
        org.organization,
        "user",
        user=clerk,
        created_by=clerk,
        scopes=["api_keys:*", "clients:read"],
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    ok = client.post(
        org.url + "keys/",
        {"name": "x", "key_type": "server", "scopes": ["clients:read"]},
        format="json",
    )
    assert ok.status_code == 201, ok.content
    response = client.post(
        org.url + "keys/",
        {"name": "x", "key_type": "server", "scopes": ["clients:write"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] in ("scope_exceeds_credential", "scope_exceeds_creator")


@pytest.mark.parametrize(
    "extra",
    [
        {"user": 1},
        {"user": {"id": 1}},
        {"created_by": 1},
        {"organization": "other"},
        {"hashed_key": "0" * 64},
        {"key": "sk_" + "a" * 32 + "_00000000"},
        {"is_active": False},
        {"remaining_uses": 5},
    ],
)
def test_create_ignores_fields_a_caller_may_not_set(org, other, extra):
    """Hand-written bodies naming an owner, another organization, a hash or
    the raw key itself: ignored, the key is the caller's and freshly generated."""
    client = client_for(org, "Manager", "session")
    body = {"name": "x", "key_type": "user", "scopes": ["clients:read"], **extra}
    if "organization" in extra:
        body["organization"] = str(other.organization.pk)
    response = client.post(org.url + "keys/", body, format="json")
    assert response.status_code == 201, response.content
    key = APIKey.objects.get(pk=response.json()["id"])
    assert key.user == org.user("Manager") and key.created_by == org.user("Manager")
    assert key.organization == org.organization and key.is_active
    assert key.hashed_key != "0" * 64 and response.json()["key"] != extra.get("key")


def test_manager_cannot_grant_or_take_owner(org):
    client = client_for(org, "Manager", "session")
    response = client.post(
        org.url + "members/", {"email": "newcomer@example.com", "role": "Owner"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "role_too_high"
    owner = org.members["Owner"]
    response = client.patch(org.url + f"members/{owner.pk}/", {"role": "Editor"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "role_too_high"
    response = client.patch(
        org.url + f"members/{org.members['Manager'].pk}/", {"role": "Owner"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "role_too_high"
    assert client.delete(org.url + f"members/{owner.pk}/").status_code == 400
    owner.refresh_from_db()
    assert owner.role.name == "Owner"


def test_user_key_cannot_escalate_a_role_either(org):
    client = client_for(org, "Manager", "user")
    response = client.post(
        org.url + "members/", {"email": "newcomer@example.com", "role": "Owner"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "role_too_high"


def test_last_owner_stays(org):
    client = client_for(org, "Owner", "session")
    owner = org.members["Owner"]
    response = client.patch(org.url + f"members/{owner.pk}/", {"role": "Manager"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "last_owner"
    response = client.delete(org.url + f"members/{owner.pk}/")
    assert response.status_code == 400 and response.json()["code"] == "last_owner"


def test_members_journey_is_audited(org):
    """Invite through the API, the invitee accepts with their own account, then
    the role changes and the member is removed."""
    import re

    from django.core import mail
    from django.test import Client

    newcomer = UserFactory(username="newcomer", email="New@Example.com")
    client = client_for(org, "Owner", "user")
    response = client.post(
        org.url + "members/", {"email": "new@example.com", "role": "Editor"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["role"]["name"], body["status"]) == (
        "new@example.com",
        "Editor",
        "pending",
    )
    # Nobody joins without consent: no membership until the invitee accepts.
    assert not Membership.objects.filter(user=newcomer, organization=org.organization).exists()
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    invitee = Client()
    invitee.force_login(newcomer)
    assert invitee.post("/" + link.split("/", 3)[3], {"answer": "accept"}).status_code == 302
    membership_id = Membership.objects.get(user=newcomer, organization=org.organization).pk
    response = client.patch(
        org.url + f"members/{membership_id}/", {"role": "Billing"}, format="json"
    )
    assert response.json()["role"]["name"] == "Billing"
    assert client.delete(org.url + f"members/{membership_id}/").status_code == 204
    assert not Membership.objects.filter(user=newcomer, organization=org.organization).exists()
    actions = list(
        AuditEvent.objects.filter(organization=org.organization).values_list("action", flat=True)
    )
    assert {
        "invitation.sent",
        "invitation.accepted",
        "member.role_changed",
        "member.removed",
    } <= set(actions)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"email": "not an address", "role": "Editor"}, "email"),
        ({"email": "new@example.com", "role": "Emperor"}, "role"),
        ({"email": "", "role": "Editor"}, "email"),
        ({"role": "Editor"}, "email"),
    ],
)
def test_invite_member_bad_input(org, body, field):
    client = client_for(org, "Owner", "session")
    response = client.post(org.url + "members/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_adding_an_existing_account_directly_is_refused(org):
    """The former body named an account: it would add someone without their
    consent, so it is refused, naming the field, and nobody joins."""
    newcomer = UserFactory(username="newcomer")
    client = client_for(org, "Owner", "session")
    for login in ("newcomer", newcomer.email):
        response = client.post(
            org.url + "members/", {"user": login, "role": "Editor"}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invitation_required" and "user" in response.json()
    assert not Membership.objects.filter(user=newcomer).exists()


def test_inviting_reveals_nothing_about_accounts(org):
    """An address with an account here and one without get the same answer."""
    from django.core import mail

    UserFactory(username="dana", email="dana@example.com")
    client = client_for(org, "Owner", "session")
    answers = []
    for email in ("dana@example.com", "nobody-here@example.com"):
        response = client.post(
            org.url + "members/", {"email": email, "role": "Editor"}, format="json"
        )
        body = response.json()
        answers.append((response.status_code, sorted(body), body["status"]))
    assert answers[0] == answers[1] == (201, answers[0][1], "pending")
    assert len(mail.outbox) == 2
    assert Membership.objects.filter(organization=org.organization).count() == len(ROLES)


def test_invite_existing_member_is_400(org):
    client = client_for(org, "Owner", "session")
    email = org.user("Editor").email
    response = client.post(org.url + "members/", {"email": email, "role": "Editor"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "already_member"


def test_invitation_links_need_a_site_url_behind_a_wildcard_host(org, settings):
    from django.core import mail

    settings.ALLOWED_HOSTS = ["*"]
    client = client_for(org, "Owner", "session")
    body = {"email": "new@example.com", "role": "Editor"}
    response = client.post(org.url + "members/", body, format="json", HTTP_HOST="evil.example")
    assert response.status_code == 400 and response.json()["code"] == "site_url_required"
    settings.APIKEYS = {**settings.APIKEYS, "SITE_URL": "https://app.example.com"}
    response = client.post(org.url + "members/", body, format="json", HTTP_HOST="evil.example")
    assert response.status_code == 201
    assert "https://app.example.com/" in mail.outbox[-1].body
    assert "evil.example" not in mail.outbox[-1].body


def test_roles_say_which_are_grantable(org):
    client = client_for(org, "Manager", "session")
    roles = {r["name"]: r["grantable"] for r in client.get(org.url + "roles/").json()["results"]}
    assert roles == {"Owner": False, "Manager": True, "Billing": True, "Editor": True}


# --- lists: filters and pagination -------------------------------------------------


def test_key_filters(org):
    client = client_for(org, "Owner", "session")
    revoked, _ = make_key(org.organization, "server", name="old one")
    services.revoke_key(revoked)
    make_key(org.organization, "publishable", name="widget", scopes=[])
    mine, _ = make_key(
        org.organization, "user", user=org.user("Owner"), created_by=org.user("Owner")
    )

    def names(query: str) -> set[str]:
        response = client.get(org.url + "keys/" + query)
        assert response.status_code == 200, response.content
        return {k["name"] for k in response.json()["results"]}

    assert names("?status=revoked") == {"old one"}
    assert "old one" not in names("?status=active")
    assert names("?key_type=publishable") == {"widget"}
    assert names(f"?user={org.user('Owner').pk}") == {mine.name}
    assert names("?search=WIDG") == {"widget"}
    assert len(names("")) == 4


@pytest.mark.parametrize("query", ["?status=nope", "?key_type=nope", "?user=abc", "?user=0"])
def test_bad_key_filter_is_400(org, query):
    client = client_for(org, "Owner", "session")
    response = client.get(org.url + "keys/" + query)
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRequestError"


def test_pagination_limits(org):
    for n in range(120):
        APIKey.objects.create(
            organization=org.organization,
            key_type="server",
            name=f"k{n}",
            hint=f"h{n}",
            hashed_key=f"{n:064d}",
        )
    client = client_for(org, "Owner", "session")
    body = client.get(org.url + "keys/").json()
    assert body["count"] == 121 and len(body["results"]) == 50 and body["next"]
    assert len(client.get(org.url + "keys/?limit=1000").json()["results"]) == 100
    assert len(client.get(org.url + "keys/?limit=5&offset=118").json()["results"]) == 3
    assert len(client.get(org.url + "keys/?limit=-3").json()["results"]) == 50
    assert len(client.get(org.url + "keys/?offset=5000").json()["results"]) == 0
    assert client.get(org.url + "keys/?offset=x&limit=y").status_code == 200
    seen: set[str] = set()
    url: str | None = org.url + "keys/?limit=100"
    while url:
        page = client.get(url).json()
        seen |= {k["id"] for k in page["results"]}
        url = page["next"]
    assert len(seen) == 121


def test_usage_per_organization_and_key(org):
    from django_apikeys import metering

    metering.record(org.target_key)
    metering.record(org.target_key)
    client = client_for(org, "Owner", "session")
    body = client.get(org.url + "usage/?days=7").json()
    assert body["days"] == 7 and len(body["series"]) == 7 and body["total"] == 2
    body = client.get(org.url + f"usage/?key={org.target_key.pk}").json()
    assert body["key"] == str(org.target_key.pk) and body["total"] == 2
    assert client.get(org.url + "usage/?days=0").status_code == 400
    assert client.get(org.url + "usage/?days=100000").status_code == 400
    assert (
        client.get(org.url + "usage/?key=00000000-0000-0000-0000-000000000000").status_code == 404
    )


def test_usage_per_key_needs_the_key_permission(org):
    client = client_for(org, "Billing", "session")
    assert client.get(org.url + "usage/").status_code == 200
    response = client.get(org.url + f"usage/?key={org.target_key.pk}")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_audit_filter(org):
    services.revoke_key(org.target_key, actor=org.user("Owner"))
    client = client_for(org, "Owner", "session")
    body = client.get(org.url + "audit/?action=key.revoked").json()
    assert [e["action"] for e in body["results"]] == ["key.revoked"]
    assert body["results"][0]["actor"]["username"] == org.user("Owner").username
    assert client.get(org.url + "audit/?action=nope").status_code == 400


def test_oauth_actions_are_in_the_declared_action_set(org):
    """The OAuth part writes its own actions: the filter and schema know them."""
    from drf_spectacular.generators import SchemaGenerator

    AuditEvent.objects.create(
        organization=org.organization,
        action="oauth_grant.revoked",
        target_type="oauth_grant",
        target_id="1",
        target_repr="grant",
    )
    client = client_for(org, "Owner", "session")
    response = client.get(org.url + "audit/?action=oauth_grant.revoked")
    assert response.status_code == 200, response.content
    assert [e["action"] for e in response.json()["results"]] == ["oauth_grant.revoked"]
    from django_apikeys.oauth import services as oauth_services

    written = {
        oauth_services.APP_CREATED,
        oauth_services.APP_SECRET_ROLLED,
        oauth_services.APP_DELETED,
        oauth_services.GRANT_REVOKED,
    }
    assert written <= set(AuditEvent.Action.values)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    enum = schema["components"]["schemas"]["ActionEnum"]["enum"]
    assert {"oauth_app.created", "oauth_grant.revoked", "oauth_app.deleted"} <= set(enum)


@pytest.mark.parametrize("kind", ["user", "session"])
def test_body_over_the_upload_limit_is_a_clean_413(org, settings, kind, caplog):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = client_for(org, "Owner", kind)
    before = APIKey.objects.count()
    body = {"name": "x" * 5000, "key_type": "server", "scopes": ["clients:read"]}
    with caplog.at_level("ERROR"):
        response = client.post(org.url + "keys/", body, format="json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "payload_too_large"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert APIKey.objects.count() == before


def test_session_writes_need_csrf(org):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(org.user("Owner"))
    response = client.post(
        org.url + "keys/", {"name": "x", "key_type": "server", "scopes": ["a:read"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert APIKey.objects.count() == 1


def test_session_writes_share_the_dashboard_post_budget(org):
    from django_apikeys.dashboard.mixins import DASHBOARD_POST_RATE

    limit = int(DASHBOARD_POST_RATE.split("/")[0])
    client = client_for(org, "Owner", "session")
    url = org.url + f"keys/{org.target_key.pk}/"
    for n in range(limit):
        assert client.patch(url, {"name": f"n{n}"}, format="json").status_code == 200
    response = client.patch(url, {"name": "one too many"}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited" and int(response["Retry-After"]) >= 1
    assert client.get(url).status_code == 200  # reads are not counted
    # A key is limited by its own limits, not by its creator's session budget.
    keyed = client_for(org, "Owner", "user")
    assert keyed.patch(url, {"name": "by key"}, format="json").status_code == 200


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("post", "keys/", '{"name": "\\ud800", "key_type": "server", "scopes": ["a:read"]}'),
        ("patch", "keys/{key}/", '{"allowed_origins": ["https://\\udfff.example"]}'),
        ("post", "members/", '{"user": "x", "role": "Editor", "\\ud800": 1}'),
    ],
)
def test_lone_surrogates_in_json_are_400_not_500(org, method, path, body):
    """Valid JSON, but no database stores it (PostgreSQL fails to encode it)."""
    client = client_for(org, "Owner", "session")
    url = org.url + path.format(key=org.target_key.pk)
    response = getattr(client, method)(url, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize(
    "query", ["?user=99999999999999999999", "?user=2147483648", "?search=a%00b", "?limit=1e309"]
)
def test_extreme_filter_values_are_400_or_ignored(org, query):
    client = client_for(org, "Owner", "session")
    response = client.get(org.url + "keys/" + query)
    assert response.status_code in (200, 400), response.content


@pytest.mark.parametrize("member", ["99999999999999999999", "1" * 18, "-1", "٣"])
def test_extreme_membership_ids_are_404(org, member):
    client = client_for(org, "Owner", "session")
    assert client.get(org.url + f"members/{member}/").status_code == 404
