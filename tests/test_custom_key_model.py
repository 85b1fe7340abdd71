"""Bring your own key model: the key tests run through the bundled ``APIKey``
and through ``tests.custom_key_app.models.ProjectKey``, a concrete subclass
of ``AbstractAPIKey`` in another app (as djangorestframework-api-key's test
project does). Every write (create, roll, revoke, ``last_used``, quota) must
land in the model's own table, and every receiver must be connected to it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.request import Request

from django_apikeys import metering, services, signals
from django_apikeys.abstract import AbstractAPIKey
from django_apikeys.authentication import APIKeyAuthentication
from django_apikeys.exceptions import InvalidKey
from django_apikeys.models import APIKey, AuditEvent, key_models
from tests.custom_key_app.models import ProjectKey
from tests.factories import MembershipFactory, OrganizationFactory, role

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.custom_key_app.urls")]


@dataclass
class KeyModel:
    model: type[AbstractAPIKey]
    base: str  # URL prefix of the API authenticated by this model
    other: type[AbstractAPIKey]

    def make(self, organization=None, key_type="server", **kwargs):
        organization = organization or OrganizationFactory()
        kwargs.setdefault("name", f"{key_type} key")
        kwargs.setdefault("scopes", ["clients:read"])
        return self.model.objects.create_key(
            organization=organization, key_type=key_type, **{"scopes": ["*"], **kwargs}
        )

    def get(self, client, raw, org=None):
        url = f"/{self.base}/{org.pk}/me" if org is not None else f"/{self.base}/me"
        return client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture(
    params=[KeyModel(APIKey, "apikey", ProjectKey), KeyModel(ProjectKey, "projectkey", APIKey)],
    ids=["APIKey", "ProjectKey"],
)
def km(request) -> KeyModel:
    return request.param


def _code(response):
    return response.status_code, response.json().get("code")


def test_both_key_models_pass_the_system_checks():
    call_command("check", fail_level="ERROR")  # E304/E305 would raise SystemCheckError
    assert key_models() == [APIKey, ProjectKey]
    org = OrganizationFactory()
    assert hasattr(org, "api_keys")  # the bundled model keeps its names
    assert hasattr(org, "custom_key_app_projectkey_set")


def test_create_key_writes_its_own_table_and_only_the_hash(km):
    api_key, raw = km.make()
    assert type(api_key) is km.model
    assert km.model.objects.filter(pk=api_key.pk).exists()
    assert not km.other.objects.exists()
    assert raw not in str(km.model.objects.values().get(pk=api_key.pk))
    assert api_key.hint.startswith("sk_")


def test_a_key_authenticates_through_its_model(km, api_client):
    api_key, raw = km.make()
    response = km.get(api_client, raw)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "model": km.model._meta.label,
        "key": str(api_key.pk),
        "organization": str(api_key.organization_id),
    }


def test_a_key_of_the_other_model_is_unknown(km, api_client):
    _, raw = km.make()
    other_base = "projectkey" if km.model is APIKey else "apikey"
    response = api_client.get(f"/{other_base}/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert _code(response) == (401, "invalid_key")


def test_revoked_expired_and_removed_owner_are_refused(km, api_client):
    revoked, revoked_raw = km.make()
    services.revoke_key(revoked)
    assert _code(km.get(api_client, revoked_raw)) == (401, "key_revoked")

    expired, expired_raw = km.make()
    km.model.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert _code(km.get(api_client, expired_raw)) == (401, "key_expired")

    member = MembershipFactory(role=role("Owner"))
    MembershipFactory(organization=member.organization, role=role("Owner"))
    _, user_raw = km.make(member.organization, "user", user=member.user)
    assert km.get(api_client, user_raw).status_code == 200
    member.delete()  # not through the service: the receiver is the safety net
    assert _code(km.get(api_client, user_raw)) == (401, "key_revoked")


def test_scopes_and_the_organization_in_the_url_are_checked(km, api_client):
    _, raw = km.make(scopes=["orders:read"])
    assert _code(km.get(api_client, raw)) == (403, "insufficient_scope")
    api_key, raw = km.make()
    assert km.get(api_client, raw, org=api_key.organization).status_code == 200
    assert _code(km.get(api_client, raw, org=OrganizationFactory())) == (
        403,
        "organization_mismatch",
    )


def test_last_used_is_written_to_its_own_table(km, api_client):
    api_key, raw = km.make()
    with CaptureQueriesContext(connection) as ctx:
        assert km.get(api_client, raw).status_code == 200
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and km.model._meta.db_table in updates[0]
    api_key.refresh_from_db()
    assert api_key.last_used is not None


def test_quota_is_spent_in_its_own_table(km, api_client):
    api_key, raw = km.make(remaining_uses=2)
    assert [km.get(api_client, raw).status_code for _ in range(3)] == [200, 200, 429]
    api_key.refresh_from_db()
    assert api_key.remaining_uses == 0


def test_per_key_rate_limit(km, api_client):
    _, raw = km.make(rate_limit_per_minute=2)
    responses = [km.get(api_client, raw) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0]["X-RateLimit-Limit"] == "2"


def test_metering_counts_its_keys(km, api_client):
    api_key, raw = km.make()
    km.get(api_client, raw)
    km.get(api_client, raw)
    assert metering.pending_counts(api_key.organization) == {metering.today(): 2}
    assert metering.daily_usage(api_key.organization, days=1) == [(metering.today(), 2)]
    assert metering.flush().requests == 2
    assert metering.daily_usage(api_key.organization, days=1) == [(metering.today(), 2)]


def test_roll_and_revoke_stay_in_its_model_and_signal_with_it(
    km, api_client, django_capture_on_commit_callbacks
):
    sent = []

    def handler(sender, **kwargs):
        sent.append((sender, kwargs["api_key"]))

    signals.api_key_rolled.connect(handler)
    signals.api_key_revoked.connect(handler)
    try:
        old, old_raw = km.make()
        with django_capture_on_commit_callbacks(execute=True):
            new, new_raw = services.roll_key(old, grace_period=datetime.timedelta(0))
            services.revoke_key(new)
    finally:
        signals.api_key_rolled.disconnect(handler)
        signals.api_key_revoked.disconnect(handler)
    assert type(new) is km.model and new.replaces_id == old.pk
    assert [s for s, _ in sent] == [km.model, km.model]
    assert _code(km.get(api_client, old_raw)) == (401, "key_revoked")
    assert _code(km.get(api_client, new_raw)) == (401, "key_revoked")


def test_removing_a_member_revokes_their_keys_with_audit_and_signal(
    km, django_capture_on_commit_callbacks
):
    owner = MembershipFactory(role=role("Owner"))
    member = MembershipFactory(organization=owner.organization, role=role("Editor"))
    user_key, _ = km.make(owner.organization, "user", user=member.user, scopes=[])
    org_key, _ = km.make(owner.organization)
    revoked = []

    def handler(sender, api_key, **kwargs):
        revoked.append((sender, api_key.pk))

    signals.api_key_revoked.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.remove_member(member, actor=owner.user)
    finally:
        signals.api_key_revoked.disconnect(handler)
    user_key.refresh_from_db()
    org_key.refresh_from_db()
    assert user_key.is_revoked and user_key.revoked_by_id == owner.user.pk
    assert not org_key.is_revoked
    assert revoked == [(km.model, user_key.pk)]
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.KEY_REVOKED, target_id=str(user_key.pk), actor=owner.user
    ).exists()


def test_a_saved_key_leaves_the_lookup_cache(
    km, api_client, settings, django_capture_on_commit_callbacks
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}
    api_key, raw = km.make()
    assert km.get(api_client, raw).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        assert km.get(api_client, raw).status_code == 200
    assert not [q for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    api_key.is_active = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        api_key.save()  # post_save is connected to this model: the cached copy goes
    assert callbacks
    assert _code(km.get(api_client, raw)) == (401, "key_revoked")


def test_the_authentication_model_attribute_is_used():
    _, raw = APIKey.objects.create_key(
        organization=OrganizationFactory(), key_type="server", name="k", scopes=["*"]
    )

    class Custom(APIKeyAuthentication):
        model = ProjectKey

    with mock.patch("django_apikeys.services.resolve_key", wraps=services.resolve_key) as spy:
        request = Request(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {raw}"))
        with pytest.raises(InvalidKey):  # an APIKey is unknown to ProjectKey's table
            Custom().authenticate(request)
    assert spy.call_args.args[1] is ProjectKey
