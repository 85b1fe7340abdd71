"""Rules written once: the roll service judges the dashboard's roll form, the
dashboard's permissions come from the one table, the form token is issued by
one mixin, and removing a member revokes their keys inside the service."""

from __future__ import annotations

import inspect

import pytest
from django.urls import reverse

from django_apikeys import abstract, services
from django_apikeys.dashboard import forms, mixins, views
from django_apikeys.models import APIKey, AuditEvent
from tests.factories import MembershipFactory, make_key, role

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return MembershipFactory(role=role("Owner"))


def _roll(client, org, key, **data):
    url = reverse("django_apikeys:key_roll", args=[org.pk, key.pk])
    page = client.get(url)
    token = page.context["form"]["form_token"].value()
    assert token
    return client.post(url, {"form_token": token, "grace_period": "3600", **data})


def test_the_roll_form_has_no_rules_of_its_own():
    assert "clean" not in vars(forms.KeyRollForm)


def test_a_second_roll_shows_the_services_reason_and_a_fresh_token(client, owner):
    org = owner.organization
    old, _ = make_key(org, scopes=["*"])
    services.roll_key(old)
    client.force_login(owner.user)
    response = _roll(client, org, old)
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors().as_data()
    assert [e.code for e in errors] == ["already_rolled"]
    assert "roll its replacement instead" in response.content.decode()
    # The refused POST spent its token; the form shown again carries a new one.
    sent = response.wsgi_request.POST["form_token"]
    assert response.context["form"].data["form_token"] not in ("", sent)
    assert APIKey.objects.filter(replaces=old).count() == 1


def test_dashboard_permissions_come_from_the_one_table():
    required = {
        view.required_permission
        for _name, view in inspect.getmembers(views, inspect.isclass)
        if issubclass(view, mixins.RolePermissionMixin) and view.required_permission
    }
    assert required == {
        abstract.VIEW_ORGANIZATION,
        abstract.MANAGE_API_KEYS,
        abstract.MANAGE_MEMBERS,
        abstract.MANAGE_BILLING,
    }
    assert required <= set(abstract.ORGANIZATION_PERMISSIONS)
    assert list(abstract.ORGANIZATION_PERMISSIONS) == [
        abstract.VIEW_ORGANIZATION,
        abstract.CONTRIBUTE_ORGANIZATION,
        abstract.MANAGE_BILLING,
        abstract.MANAGE_API_KEYS,
        abstract.MANAGE_OWN_API_KEYS,
        abstract.MANAGE_MEMBERS,
        abstract.DELETE_ORGANIZATION,
    ]


def test_the_form_token_is_issued_by_the_mixin_alone():
    for view in (views.KeyCreateView, views.KeyRollView):
        assert issubclass(view, mixins.FormTokenMixin)
        assert "issue_form_token" not in inspect.getsource(view.get_form_kwargs)


def test_the_view_mixins_live_in_mixins():
    assert views.OrganizationKeyMixin.__module__ == mixins.__name__
    assert views.OrganizationMembershipMixin.__module__ == mixins.__name__


def test_removing_a_member_in_the_dashboard_revokes_their_keys_with_audit(
    client, owner, django_capture_on_commit_callbacks
):
    org = owner.organization
    member = MembershipFactory(organization=org, role=role("Editor"))
    user_key, _ = make_key(org, "user", user=member.user, scopes=[])
    client.force_login(owner.user)
    url = reverse("django_apikeys:member_remove", args=[org.pk, member.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    user_key.refresh_from_db()
    assert user_key.is_revoked and user_key.revoked_by_id == owner.user.pk
    actions = list(AuditEvent.objects.filter(organization=org).values_list("action", flat=True))
    assert AuditEvent.Action.KEY_REVOKED in actions and AuditEvent.Action.MEMBER_REMOVED in actions
