"""The organization list of someone in no organization (issue 13, item 4):
a superuser (the demo's Django-admin-only ``admin``) is told why the
dashboard is empty, and offered to create one when the site allows it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

EXPLANATION = "You are a superuser, but a member of no organization."
LIST = reverse("django_apikeys:organization_list")
CREATE = reverse("django_apikeys:organization_create")


def test_superuser_without_organization_is_told_why_and_offered_to_create(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    html = client.get(LIST).content.decode()
    assert EXPLANATION in html
    assert reverse("admin:django_apikeys_organization_changelist") in html
    assert f'href="{CREATE}"' in html
    assert "Create an organization (you become its Owner)" in html


def test_superuser_where_only_some_may_create_gets_no_create_action(client, settings):
    settings.APIKEYS = {"ORGANIZATION_CREATION": "tests.test_no_organization_page.nobody"}
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    html = client.get(LIST).content.decode()
    assert EXPLANATION in html
    assert f'href="{CREATE}"' not in html
    assert "Add yourself to an organization in the Django admin" in html


def nobody(user) -> bool:
    return False


def test_ordinary_user_keeps_the_usual_text(client):
    client.force_login(UserFactory())
    html = client.get(LIST).content.decode()
    assert EXPLANATION not in html
    assert "You are not a member of any organization yet." in html
    assert f'href="{CREATE}"' in html


def test_superuser_who_is_a_member_sees_the_list(client):
    membership = MembershipFactory(user=UserFactory(is_superuser=True, is_staff=True))
    client.force_login(membership.user)
    html = client.get(LIST).content.decode()
    assert EXPLANATION not in html
    assert membership.organization.name in html


def test_seed_demo_says_what_its_admin_is_for():
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if line.strip().startswith("admin"))
    assert "in no organization" in line
