"""Migrations are complete and the reference roles are seeded."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from django_apikeys.models import Role

pytestmark = pytest.mark.django_db


def test_no_missing_migrations():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=io.StringIO())
    assert "No changes detected" in out.getvalue()


def test_reference_roles_seeded_with_the_seed_000_matrix():
    roles = {r.name: set(r.permissions) for r in Role.objects.all()}
    view, contribute, billing, keys, members, delete = (
        "organization.view_organization",
        "organization.contribute_organization",
        "organization.manage_billing",
        "organization.manage_api_keys",
        "organization.manage_members",
        "organization.delete_organization",
    )
    # Every member may manage their own user keys (a personal key each).
    own = "organization.manage_own_api_keys"
    assert roles == {
        "Owner": {view, contribute, billing, keys, members, delete, own},
        "Manager": {view, contribute, billing, keys, members, own},
        "Billing": {view, billing, own},
        "Editor": {view, contribute, own},
    }
