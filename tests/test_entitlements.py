"""Plans and entitlements: HasEntitlement gives 403 not_entitled; plans are edited in the admin."""

from __future__ import annotations

import pytest

from django_apikeys.models import Plan
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PlanFactory,
    UserFactory,
    make_key,
)

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/reports"


@pytest.mark.parametrize(
    ("entitlements", "status"),
    [
        (["reports"], 200),
        (["reports", "exports"], 200),
        (["*"], 200),
        (["exports"], 403),
        ([], 403),
        (None, 403),  # no plan at all
    ],
)
@pytest.mark.parametrize("key_type", ["server", "user"])
def test_entitlement_matrix(api_client, entitlements, status, key_type):
    plan = PlanFactory(entitlements=entitlements) if entitlements is not None else None
    org = OrganizationFactory(plan=plan)
    if key_type == "user":
        _, raw = make_key(org, "user", user=MembershipFactory(organization=org).user)
    else:
        _, raw = make_key(org)
    response = api_client.get(REPORTS, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == status, response.content
    if status == 403:
        body = response.json()
        assert (body["code"], body["type"]) == ("not_entitled", "NotEntitledError")
    else:
        assert response.json()["organization"] == str(org.pk)


def test_session_user_entitlement_follows_the_chosen_organization(api_client):
    user = UserFactory()
    entitled = OrganizationFactory(plan=PlanFactory(entitlements=["reports"]))
    starter = OrganizationFactory(plan=PlanFactory(entitlements=[]))
    MembershipFactory(user=user, organization=entitled)
    MembershipFactory(user=user, organization=starter)
    api_client.force_login(user)
    assert api_client.get(REPORTS, HTTP_X_ORGANIZATION=entitled.slug).status_code == 200
    response = api_client.get(REPORTS, HTTP_X_ORGANIZATION=starter.slug)
    assert response.json()["code"] == "not_entitled"


@pytest.mark.parametrize("cache_timeout", [0, 300])
def test_plan_change_applies_on_the_next_request(
    settings, api_client, django_capture_on_commit_callbacks, cache_timeout
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": cache_timeout}
    plan = PlanFactory(entitlements=[])
    _, raw = make_key(OrganizationFactory(plan=plan))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert api_client.get(REPORTS, **auth).json()["code"] == "not_entitled"
    with django_capture_on_commit_callbacks(execute=True):
        plan.entitlements = ["reports"]
        plan.save()
    assert api_client.get(REPORTS, **auth).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        plan.entitlements = []
        plan.save()
    assert api_client.get(REPORTS, **auth).json()["code"] == "not_entitled"


def test_changing_an_organizations_plan_applies_with_the_cache_on(
    settings, api_client, django_capture_on_commit_callbacks
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}
    org = OrganizationFactory(plan=PlanFactory(entitlements=[]))
    _, raw = make_key(org)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert api_client.get(REPORTS, **auth).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        org.plan = PlanFactory(entitlements=["reports"])
        org.save()
    assert api_client.get(REPORTS, **auth).status_code == 200


@pytest.mark.parametrize(
    ("entitlements", "module", "included"),
    [(["a", "b"], "a", True), (["a"], "b", False), (["*"], "anything", True), ([], "a", False)],
)
def test_plan_includes(entitlements, module, included):
    assert Plan(name="p", entitlements=entitlements).includes(module) is included


@pytest.fixture
def admin_client_(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_plans_are_editable_in_the_admin(admin_client_, api_client):
    response = admin_client_.post(
        "/admin/django_apikeys/plan/add/",
        {
            "name": "Enterprise",
            "entitlements": '["reports", "exports"]',
            "rate_limit_per_minute": "120",
            "rate_limit_per_day": "0",
            "rate_limit_per_month": "0",
        },
    )
    assert response.status_code == 302, response.content
    plan = Plan.objects.get(name="Enterprise")
    assert (plan.entitlements, plan.rate_limit_per_minute) == (["reports", "exports"], 120)
    changelist = admin_client_.get("/admin/django_apikeys/plan/")
    assert b"Enterprise" in changelist.content
    org = OrganizationFactory(plan=plan)
    _, raw = make_key(org)
    assert api_client.get(REPORTS, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    edit = admin_client_.post(
        f"/admin/django_apikeys/plan/{plan.pk}/change/",
        {
            "name": "Enterprise",
            "entitlements": "[]",
            "rate_limit_per_minute": "120",
            "rate_limit_per_day": "0",
            "rate_limit_per_month": "0",
        },
    )
    assert edit.status_code == 302
    assert api_client.get(REPORTS, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 403


def test_admin_rejects_bad_plan_input(admin_client_):
    response = admin_client_.post(
        "/admin/django_apikeys/plan/add/",
        {"name": "Broken", "entitlements": "not json", "rate_limit_per_minute": "-1"},
    )
    assert response.status_code == 200  # the form again, with errors; never a 500
    assert response.context["adminform"].form.errors
    assert not Plan.objects.filter(name="Broken").exists()
