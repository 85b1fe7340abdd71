"""Member-scoped user keys (key type ``tenancy = "member"``) and organization
keys with organization permissions (``organization_permissions``).

The cross-organization checks of the tenancy suites (``test_tenancy.py``,
``test_tenancy_guards.py``, the profile suite's IDOR guard) re-run here with a
member-scoped key: no request reaches an organization its owner does not
belong to.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.urls import path
from django.utils import timezone
from example.api.models import Client
from rest_framework.response import Response
from rest_framework.views import APIView

from django_apikeys import metering, services
from django_apikeys.conf import DEFAULTS, apikeys_settings
from django_apikeys.models import APIKey, Membership
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PlanFactory,
    UserFactory,
    make_key,
    role,
)
from tests.test_management_api import ENDPOINTS as MANAGEMENT_ENDPOINTS
from tests.test_management_api import _org, _path, client_for
from tests.test_tenancy import MATRIX, header_value

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def key_types(**user_options):
    types = {name: dict(spec) for name, spec in DEFAULTS["KEY_TYPES"].items()}
    types["user"].update(user_options)
    return types


@pytest.fixture
def member_scoped(settings):
    settings.APIKEYS = {"KEY_TYPES": key_types(tenancy="member")}


@pytest.fixture
def world(member_scoped):
    """Owner of A, Editor of B, one member-scoped key made in A; C is a stranger's."""
    plan = PlanFactory(entitlements=["reports"])
    a, b, c = (OrganizationFactory(plan=plan) for _ in range(3))
    user = UserFactory()
    MembershipFactory(user=user, organization=a, role=role("Owner"))
    MembershipFactory(user=user, organization=b, role=role("Editor"))
    MembershipFactory(organization=c, role=role("Owner"))
    api_key, raw = make_key(a, "user", user=user)
    return {"a": a, "b": b, "c": c, "user": user, "key": api_key, "raw": raw}


def auth(raw, org=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    if org is not None:
        headers["HTTP_X_ORGANIZATION"] = str(getattr(org, "pk", org))
    return headers


# --- the cross-organization checks, with member-scoped keys --------------------


@pytest.mark.parametrize(("header", "status", "code"), MATRIX)
def test_header_matrix_with_a_member_scoped_key(api_client, world, header, status, code):
    """The tenancy suite's matrix: ``other`` is an organization the owner does
    not belong to, so a member-scoped key is refused there exactly as a pinned one."""
    own, other = world["a"], world["c"]
    response = api_client.get(
        ME, HTTP_X_ORGANIZATION=header_value(header, own, other), **auth(world["raw"])
    )
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
    else:
        assert response.json()["organization"] == str(own.pk)


@pytest.mark.parametrize("org", ["a", "b", "c"])
def test_url_guard_with_a_member_scoped_key(api_client, world, org):
    url = f"/api/v1/orgs/{world[org].pk}/invoices"
    response = api_client.get(url, **auth(world["raw"]))
    if org == "a":
        assert response.status_code == 200, response.content
    else:
        # B is reached and its Editor role bounds the key; C is never reached.
        code = {"b": "insufficient_scope", "c": "organization_mismatch"}[org]
        assert (response.status_code, response.json()["code"]) == (403, code)


@pytest.mark.parametrize(
    ("url_org", "header_org", "code"),
    [
        ("a", "b", "organization_mismatch"),
        ("b", "a", "organization_mismatch"),
        ("b", "c", "organization_mismatch"),
        ("c", "b", "organization_mismatch"),
        ("b", "b", "insufficient_scope"),  # reached B, bounded by the Editor role
    ],
)
def test_url_and_header_must_agree(api_client, world, url_org, header_org, code):
    response = api_client.get(
        f"/api/v1/orgs/{world[url_org].pk}/invoices", **auth(world["raw"], world[header_org])
    )
    assert (response.status_code, response.json()["code"]) == (403, code)


class PlainOrgView(APIView):
    """Filters by the URL's organization but lists no IDOR guard."""

    def get(self, request, org_id):
        return Response({"org": str(request._request.organization.pk)})


urlpatterns = [path("plain/<str:org_id>/", PlainOrgView.as_view())]


@pytest.mark.urls(__name__)
def test_url_organization_is_checked_for_every_view(api_client, world):
    mine = api_client.get(f"/plain/{world['b'].slug}/", **auth(world["raw"]))
    assert mine.json() == {"org": str(world["b"].pk)}
    theirs = api_client.get(f"/plain/{world['c'].pk}/", **auth(world["raw"]))
    assert (theirs.status_code, theirs.json()["code"]) == (403, "organization_mismatch")


def test_deactivated_organization_is_not_reachable(api_client, world):
    world["b"].deactivated_at = timezone.now()
    world["b"].save()
    response = api_client.get(ME, **auth(world["raw"], world["b"]))
    assert response.json()["code"] == "organization_mismatch"


def test_mismatch_is_refused_before_metering(api_client, world):
    for org in ("c", "c"):
        assert api_client.get(ME, **auth(world["raw"], world[org])).status_code == 403
    for org in ("a", "b", "c"):
        assert metering.daily_usage(world[org], world["key"], days=1)[0][1] == 0


@pytest.mark.parametrize("profile", ["typed_checksummed_keys", "scoped_user_keys"])
def test_profile_idor_guard_with_member_scoped_user_keys(settings, api_client, profile):
    """The profile suite's IDOR guard, with each profile's user key made member-scoped."""
    from tests.test_profiles import Profile

    seed = Profile(f"example.profiles.{profile}", settings)
    types = {n: dict(spec) for n, spec in seed.module.APIKEYS["KEY_TYPES"].items()}
    name = next(n for n, spec in types.items() if spec.get("owner") == "user")
    types[name]["tenancy"] = "member"
    settings.APIKEYS = {**seed.module.APIKEYS, "KEY_TYPES": types}
    _, raw = seed.key(name)
    other = OrganizationFactory()
    mine = api_client.get(f"/api/v1/orgs/{seed.org.pk}/invoices", **seed.headers(raw))
    assert mine.status_code == 200, mine.content
    theirs = api_client.get(f"/api/v1/orgs/{other.pk}/invoices", **seed.headers(raw))
    assert theirs.json()["code"] == "organization_mismatch"
    header = {**seed.headers(raw), apikeys_settings.organization_header_meta: str(other.pk)}
    assert api_client.get("/api/v1/clients", **header).json()["code"] == "organization_mismatch"


# --- acting in the owner's other organizations -----------------------------------


def test_pinned_is_the_default(api_client, settings):
    user = UserFactory()
    a, b = OrganizationFactory(), OrganizationFactory()
    MembershipFactory(user=user, organization=a, role=role("Owner"))
    MembershipFactory(user=user, organization=b, role=role("Owner"))
    _, raw = make_key(a, "user", user=user)
    response = api_client.get(ME, **auth(raw, b))
    assert response.json()["code"] == "organization_mismatch"


def test_one_key_two_roles(api_client, world):
    """Owner of A, Editor of B: one key, each organization's role bounds it."""
    raw, a, b = world["raw"], world["a"], world["b"]
    Client.objects.create(organization=a, name="in A")
    Client.objects.create(organization=b, name="in B")
    in_a = api_client.get("/api/v1/clients", **auth(raw, a))
    assert [c["name"] for c in in_a.json()] == ["in A"]
    in_b = api_client.get("/api/v1/clients", **auth(raw, b))
    assert (in_b.status_code, in_b.json()["code"]) == (403, "insufficient_scope")
    products = api_client.get("/api/v1/products", **auth(raw, b))
    assert products.status_code == 200
    assert api_client.get(ME, **auth(raw, b)).json()["organization"] == str(b.pk)
    # No organization named: the one the key was created in.
    assert api_client.get(ME, **auth(raw)).json()["organization"] == str(a.pk)


def test_role_changes_take_effect_on_the_next_request(api_client, world):
    raw, b = world["raw"], world["b"]
    assert api_client.get("/api/v1/clients", **auth(raw, b)).status_code == 403
    Membership.objects.filter(user=world["user"], organization=b).update(role=role("Manager"))
    assert api_client.get("/api/v1/clients", **auth(raw, b)).status_code == 200
    Membership.objects.filter(user=world["user"], organization=b).delete()
    response = api_client.get("/api/v1/products", **auth(raw, b))
    assert (response.status_code, response.json()["code"]) == (403, "organization_mismatch")
    # Still at home.
    assert api_client.get("/api/v1/clients", **auth(raw, world["a"])).status_code == 200


def test_the_key_never_exceeds_its_own_scopes(api_client, world):
    user, b = world["user"], world["b"]
    Membership.objects.filter(user=user, organization=b).update(role=role("Owner"))
    _, narrow = make_key(world["a"], "user", user=user, scopes=["products:read"])
    assert api_client.get("/api/v1/products", **auth(narrow, b)).status_code == 200
    assert api_client.get("/api/v1/clients", **auth(narrow, b)).status_code == 403


def test_entitlements_limits_and_metering_follow_the_organization_acted_on(
    api_client, world, settings
):
    raw, a, b = world["raw"], world["a"], world["b"]
    b.plan = PlanFactory(entitlements=[], rate_limit_per_minute=2)
    b.save()
    assert api_client.get("/api/v1/reports", **auth(raw, a)).status_code == 200
    refused = api_client.get("/api/v1/reports", **auth(raw, b))
    assert refused.json()["code"] == "not_entitled"
    for _ in range(2):
        assert api_client.get("/api/v1/products", **auth(raw, b)).status_code == 200
    limited = api_client.get("/api/v1/products", **auth(raw, b))
    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    # A's plan has no organization limit: the same key still works there.
    assert api_client.get("/api/v1/products", **auth(raw, a)).status_code == 200
    counted_b = metering.daily_usage(b, world["key"], days=1)[0][1]
    counted_a = metering.daily_usage(a, world["key"], days=1)[0][1]
    assert counted_b >= 2 and counted_a >= 2


def test_the_key_is_not_moved(api_client, world):
    raw, b = world["raw"], world["b"]
    assert api_client.get(ME, **auth(raw, b)).status_code == 200
    world["key"].refresh_from_db()
    assert world["key"].organization_id == world["a"].pk
    acting = services.act_in_organization(APIKey.objects.get(pk=world["key"].pk), _ref(str(b.pk)))
    assert acting.organization_id == b.pk and acting.home_organization_id == world["a"].pk
    with pytest.raises(TypeError):
        acting.save()


def _ref(value):
    from django_apikeys.tenancy import OrganizationRef

    return OrganizationRef(value)


def test_only_user_keys_can_be_member_scoped(settings):
    types = key_types()
    types["server"]["tenancy"] = "member"
    settings.APIKEYS = {"KEY_TYPES": types}
    with pytest.raises(ImproperlyConfigured, match="only user keys"):
        apikeys_settings.key_types  # noqa: B018
    settings.APIKEYS = {"KEY_TYPES": key_types(tenancy="anywhere")}
    with pytest.raises(ImproperlyConfigured, match="tenancy"):
        apikeys_settings.key_types  # noqa: B018


# --- organization keys with organization permissions ---------------------------


def with_org_permissions(settings, value):
    types = key_types()
    types["server"]["organization_permissions"] = value
    settings.APIKEYS = {"KEY_TYPES": types}


@pytest.mark.parametrize(
    ("value", "offers", "members"),
    [(None, 403, 403), ("Editor", 200, 403), ("Manager", 200, 200), ("*", 200, 200)],
)
def test_organization_keys_hold_their_types_role(api_client, settings, value, offers, members):
    with_org_permissions(settings, value)
    org = OrganizationFactory()
    _, raw = make_key(org, "server")
    got = api_client.get(f"/api/v1/orgs/{org.pk}/offers", **auth(raw))
    assert got.status_code == offers, got.content
    listed = api_client.get(f"/api/v1/orgs/{org.pk}/members", **auth(raw))
    assert listed.status_code == members
    if members == 403:
        assert listed.json()["code"] == "permission_denied"


def test_role_edits_take_effect_on_the_next_request(api_client, settings):
    with_org_permissions(settings, "Editor")
    org = OrganizationFactory()
    _, raw = make_key(org, "server")
    url = f"/api/v1/orgs/{org.pk}/members"
    assert api_client.get(url, **auth(raw)).status_code == 403
    editor = role("Editor")
    editor.permissions = [*editor.permissions, "organization.manage_members"]
    editor.save()
    assert api_client.get(url, **auth(raw)).status_code == 200


@pytest.mark.parametrize(
    ("creator_role", "value", "allowed"),
    [
        ("Manager", "Manager", True),
        ("Owner", "*", True),
        ("Manager", "*", False),
        ("Editor", "Manager", False),
        ("Billing", "Editor", False),
    ],
)
def test_never_more_than_the_creator_could_grant(settings, creator_role, value, allowed):
    with_org_permissions(settings, value)
    member = MembershipFactory(role=role(creator_role))
    create = lambda: make_key(member.organization, "server", created_by=member.user)  # noqa: E731
    if allowed:
        create()
    else:
        with pytest.raises(ValidationError) as exc:
            create()
        assert exc.value.error_dict["key_type"][0].code == "permissions_exceed_creator"


def test_organization_permissions_are_for_organization_keys(settings):
    settings.APIKEYS = {"KEY_TYPES": key_types(organization_permissions="Owner")}
    with pytest.raises(ImproperlyConfigured, match="organization keys"):
        apikeys_settings.key_types  # noqa: B018


# --- the management API's cross-organization checks, with member-scoped keys ------


@pytest.mark.parametrize(
    "name,method,template,body,permission",
    MANAGEMENT_ENDPOINTS,
    ids=[endpoint[0] for endpoint in MANAGEMENT_ENDPOINTS],
)
def test_management_api_never_reaches_an_organization_the_owner_left_out(
    member_scoped, name, method, template, body, permission
):
    """Every management endpoint, a member-scoped Owner key of A: B's URL
    (the owner is no member there) is 403 ``organization_mismatch``, nothing
    touched."""
    org, other = _org(), _org()
    client = client_for(org, "Owner", "user")
    before = (APIKey.objects.count(), Membership.objects.count())
    response = getattr(client, method)(_path(other, template), body, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "organization_mismatch")
    assert (APIKey.objects.count(), Membership.objects.count()) == before


def test_management_api_and_audit_act_on_the_organization_named(api_client, world):
    """Manager of B through a key made in A: the key created and its audit
    event belong to B, the person behind both is the key's owner."""
    from django_apikeys.models import AuditEvent

    user, b = world["user"], world["b"]
    Membership.objects.filter(user=user, organization=b).update(role=role("Manager"))
    response = api_client.post(
        f"/api/manage/organizations/{b.pk}/keys/",
        {"name": "made from A's key", "key_type": "server", "scopes": ["products:read"]},
        format="json",
        **auth(world["raw"]),
    )
    assert response.status_code == 201, response.content
    created = APIKey.objects.get(name="made from A's key")
    assert (created.organization_id, created.created_by_id) == (b.pk, user.pk)
    event = AuditEvent.objects.get(target_id=str(created.pk))
    assert (event.organization_id, event.actor_id) == (b.pk, user.pk)
