"""The compiled authorization lookup builds exactly what the queryset builds."""

from __future__ import annotations

import uuid

import pytest
from django.db import connections

from django_apikeys.oauth import _compiled, services
from django_apikeys.oauth.models import OAuthGrant
from tests.factories import MembershipFactory, PlanFactory

pytestmark = pytest.mark.django_db


def _snapshot(grant):
    return (
        grant.pk,
        grant.revoked_at,
        grant.last_used,
        grant.scopes,
        grant.member_permissions,
        grant.member_scopes,
        grant.user.pk,
        grant.user.username,
        grant.organization.pk,
        grant.organization.plan.pk if grant.organization.plan else None,
    )


@pytest.mark.parametrize("with_plan", [True, False])
@pytest.mark.parametrize("member", [True, False])
def test_compiled_equals_queryset(world, with_plan, member):
    world.tokens()
    grant = OAuthGrant.objects.get()
    if with_plan:
        world.org.plan = PlanFactory()
        world.org.save()
    if not member:
        OAuthGrant.objects.filter(pk=grant.pk).update(user=MembershipFactory().user)
    lookup = _compiled.grant_lookup(connections["default"], services.grant_queryset)
    assert lookup is not None
    compiled = lookup.fetch_id(connections["default"], grant.pk)
    plain = services._load_plain(grant.pk)
    assert _snapshot(compiled) == _snapshot(plain)
    assert compiled.user.__class__ is plain.user.__class__
    assert lookup.fetch_id(connections["default"], uuid.uuid4()) is None
    assert lookup.fetch_id(connections["default"], str(grant.pk)).pk == grant.pk


def test_falls_back_to_the_queryset(world, monkeypatch):
    world.tokens()
    grant = OAuthGrant.objects.get()

    def broken(*args, **kwargs):
        raise RuntimeError("internals changed")

    monkeypatch.setattr(_compiled, "_lookups", _compiled.weakref.WeakKeyDictionary())
    monkeypatch.setattr(_compiled.GrantLookup, "__init__", broken)
    assert services._load(grant.pk).pk == grant.pk
