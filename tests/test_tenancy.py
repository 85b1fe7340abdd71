"""The organization header and URL: tenant resolution and the IDOR guard (stages 3–4)."""

from __future__ import annotations

import pytest
from example.api.models import Client

from django_apikeys.tenancy import OrganizationRef, organization_for_user, organization_from_url
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PlanFactory,
    UserFactory,
    make_key,
)

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
REPORTS = "/api/v1/reports"


@pytest.fixture
def orgs():
    plan = PlanFactory(entitlements=["reports"])
    return OrganizationFactory(plan=plan), OrganizationFactory(plan=plan)


def header_value(kind, own, other):
    return {
        "own-uuid": str(own.pk),
        "own-uuid-upper": str(own.pk).upper(),
        "own-slug": own.slug,
        "other-uuid": str(other.pk),
        "other-slug": other.slug,
        "unknown-uuid": "00000000-0000-0000-0000-000000000000",
        "unknown-slug": "no-such-org",
        "too-long": "x" * 500,
        "blank": "   ",
    }[kind]


MATRIX = [
    ("own-uuid", 200, None),
    ("own-uuid-upper", 200, None),
    ("own-slug", 200, None),
    ("other-uuid", 403, "organization_mismatch"),
    ("other-slug", 403, "organization_mismatch"),
    ("unknown-uuid", 403, "organization_mismatch"),
    ("unknown-slug", 403, "organization_mismatch"),
    ("too-long", 403, "organization_mismatch"),
    ("blank", 403, "organization_mismatch"),
]


def _key(kind, org):
    if kind == "user":
        membership = MembershipFactory(organization=org)
        return make_key(org, "user", user=membership.user)
    return make_key(org, kind)


@pytest.mark.parametrize("key_type", ["server", "user", "publishable"])
@pytest.mark.parametrize(("header", "status", "code"), MATRIX)
def test_header_with_api_keys(api_client, orgs, key_type, header, status, code):
    """Every key (organization keys and user keys alike) is pinned to its organization."""
    own, other = orgs
    _, raw = _key(key_type, own)
    response = api_client.get(
        ME,
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_X_ORGANIZATION=header_value(header, own, other),
    )
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
        assert response.json()["type"] == "ForbiddenError"
    else:
        assert response.json()["organization"] == str(own.pk)


def test_without_header_the_key_decides(api_client, orgs):
    own, _ = orgs
    _, raw = make_key(own)
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.json()["organization"] == str(own.pk)


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        ("own-uuid", 200, None),
        ("own-slug", 200, None),
        ("other-uuid", 403, "organization_mismatch"),  # not a member there
        ("unknown-slug", 403, "organization_mismatch"),
        ("too-long", 403, "organization_mismatch"),
    ],
)
def test_header_with_session_users(api_client, orgs, header, status, code):
    own, other = orgs
    membership = MembershipFactory(organization=own)
    api_client.force_login(membership.user)
    response = api_client.get(REPORTS, HTTP_X_ORGANIZATION=header_value(header, own, other))
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
    else:
        assert response.json()["organization"] == str(own.pk)


def test_session_user_picks_among_memberships(api_client, orgs):
    first, second = orgs
    user = UserFactory()
    MembershipFactory(user=user, organization=first)
    MembershipFactory(user=user, organization=second)
    Client.objects.create(organization=second, name="Only in second")
    api_client.force_login(user)
    for org in (first, second):
        response = api_client.get(REPORTS, HTTP_X_ORGANIZATION=org.slug)
        assert response.json()["organization"] == str(org.pk)
    listed = api_client.get("/api/v1/clients", HTTP_X_ORGANIZATION=str(second.pk)).json()
    names = [row["name"] for row in (listed["results"] if isinstance(listed, dict) else listed)]
    assert names == ["Only in second"]


@pytest.mark.parametrize("key_type", ["server", "user"])
def test_required_header_missing_is_400(settings, api_client, orgs, key_type):
    settings.APIKEYS = {"REQUIRE_ORGANIZATION_HEADER": True}
    own, _ = orgs
    _, raw = _key(key_type, own)
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["type"]) == ("organization_required", "InvalidRequestError")
    assert "X-Organization" in body["detail"]
    ok = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_ORGANIZATION=own.slug)
    assert ok.status_code == 200


def test_required_header_for_session_users(settings, api_client, orgs):
    settings.APIKEYS = {"REQUIRE_ORGANIZATION_HEADER": True}
    own, _ = orgs
    membership = MembershipFactory(organization=own)
    api_client.force_login(membership.user)
    assert api_client.get(REPORTS).json()["code"] == "organization_required"
    assert api_client.get(REPORTS, HTTP_X_ORGANIZATION=own.slug).status_code == 200


def test_configurable_header_name(settings, api_client, orgs):
    """Seed 003: a custom header, required; the default name means nothing then."""
    settings.APIKEYS = {
        "ORGANIZATION_HEADER": "X-Kloakd-Organization",
        "REQUIRE_ORGANIZATION_HEADER": True,
    }
    own, other = orgs
    _, raw = make_key(own)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    response = api_client.get(ME, HTTP_X_ORGANIZATION=str(own.pk), **auth)
    assert response.json()["code"] == "organization_required"
    assert "X-Kloakd-Organization" in response.json()["detail"]
    assert api_client.get(ME, HTTP_X_KLOAKD_ORGANIZATION=str(own.pk), **auth).status_code == 200
    mismatch = api_client.get(ME, HTTP_X_KLOAKD_ORGANIZATION=str(other.pk), **auth)
    assert mismatch.json()["code"] == "organization_mismatch"


@pytest.mark.parametrize(
    ("url_org", "header_org", "status"),
    [("own", None, 200), ("other", None, 403), ("own", "other", 403), ("other", "own", 403)],
)
def test_url_and_header_both_guard(api_client, orgs, url_org, header_org, status):
    own, other = orgs
    pick = {"own": own, "other": other}
    _, raw = make_key(own)
    extra = {"HTTP_X_ORGANIZATION": str(pick[header_org].pk)} if header_org else {}
    response = api_client.get(
        f"/api/v1/orgs/{pick[url_org].pk}/invoices", HTTP_AUTHORIZATION=f"Bearer {raw}", **extra
    )
    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "organization_mismatch"


def test_mismatch_is_refused_before_rate_limits_and_metering(api_client, orgs):
    from django_apikeys import metering

    own, other = orgs
    api_key, raw = make_key(own, rate_limit_per_minute=1)
    for _ in range(3):
        response = api_client.get(
            ME, HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_ORGANIZATION=str(other.pk)
        )
        assert response.json()["code"] == "organization_mismatch"
    assert metering.daily_usage(own, api_key, days=1)[0][1] == 0
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_reference_helpers(orgs):
    own, other = orgs
    assert OrganizationRef(str(own.pk)).matches(own)
    assert OrganizationRef(own.slug).matches(own)
    assert not OrganizationRef(other.slug).matches(own)
    assert OrganizationRef(str(own.pk)).lookup() == {"pk": own.pk}
    assert OrganizationRef(own.slug).lookup() == {"slug": own.slug}
    assert organization_from_url({"org_slug": own.slug}) == OrganizationRef(own.slug)
    assert organization_from_url({"pk": "1"}) is None
    member = MembershipFactory(organization=own).user
    assert organization_for_user(member, OrganizationRef(own.slug)) == own
    assert organization_for_user(member, OrganizationRef(other.slug)) is None
