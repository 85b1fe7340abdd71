"""The lifecycle services: create, roll, revoke, members; audit events and signals."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from django_apikeys import keys, services, signals
from django_apikeys.models import APIKey, AuditEvent, Membership
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key, role

pytestmark = pytest.mark.django_db


def _codes(exc):
    return (
        {e.code for errors in exc.value.error_dict.values() for e in errors}
        if hasattr(exc.value, "error_dict")
        else {exc.value.code}
    )


def test_create_key_returns_raw_once_and_stores_hash():
    org = OrganizationFactory()
    api_key, raw = APIKey.objects.create_key(
        organization=org, key_type="server", name="CI", scopes=["*"]
    )
    assert keys.verify_format(raw, prefixes=["sk"])
    assert api_key.hashed_key == keys.hash_key(raw)
    assert raw not in str(APIKey.objects.filter(pk=api_key.pk).values().get())
    assert api_key.hint == keys.display_hint(raw)
    assert api_key.scopes == ["*"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"key_type": "nope"}, "invalid_key_type"),
        ({"key_type": "user"}, "owner_required"),
        ({"key_type": "server", "user": "member"}, "owner_forbidden"),
        ({"key_type": "user", "user": "stranger"}, "owner_not_member"),
        ({"scopes": ["bad scope!"]}, "invalid_scope"),
        ({"expires_at": "past"}, "expiry_in_past"),
        ({"rate_limit_per_minute": -1}, "invalid_rate_limit"),
        ({"name": "  "}, "name_required"),
    ],
)
def test_create_key_rejects_bad_input(kwargs, code):
    membership = MembershipFactory()
    if kwargs.get("user") == "member":
        kwargs["user"] = membership.user
    elif kwargs.get("user") == "stranger":
        kwargs["user"] = UserFactory()
    if kwargs.get("expires_at") == "past":
        kwargs["expires_at"] = timezone.now() - datetime.timedelta(minutes=1)
    kwargs.setdefault("key_type", "server")
    kwargs.setdefault("name", "k")
    kwargs.setdefault("scopes", ["*"])
    with pytest.raises(ValidationError) as exc:
        services.create_key(organization=membership.organization, **kwargs)
    assert code in _codes(exc)
    assert not APIKey.objects.exists()


def test_scopes_limited_by_key_type(settings):
    settings.APIKEYS = {
        "KEY_TYPES": {"publishable": {"prefix": "pk", "scopes": ["assess", "products:read"]}}
    }
    org = OrganizationFactory()
    with pytest.raises(ValidationError) as exc:
        services.create_key(organization=org, key_type="publishable", name="w")
    assert "scopes_required" in _codes(exc)  # never an implicit allowance
    with pytest.raises(ValidationError) as exc:
        services.create_key(
            organization=org, key_type="publishable", name="w", scopes=["clients:write"]
        )
    assert "scope_not_allowed" in _codes(exc)
    # "*" on a restricted type: everything the type may do, and nothing more.
    wide, _ = services.create_key(organization=org, key_type="publishable", name="w", scopes=["*"])
    assert wide.scopes == ["assess", "products:read"]


def test_scopes_limited_by_creator_role():
    editor = MembershipFactory(role=role("Editor"))  # offers:*, products:*
    org = editor.organization
    api_key, _ = services.create_key(
        organization=org,
        key_type="server",
        name="k",
        created_by=editor.user,
        scopes=["products:read"],
    )
    assert api_key.created_by == editor.user
    for scopes in (["clients:read"], ["*"]):
        with pytest.raises(ValidationError) as exc:
            services.create_key(
                organization=org,
                key_type="server",
                name="k",
                created_by=editor.user,
                scopes=scopes,
            )
        assert "scope_exceeds_creator" in _codes(exc)
    stranger = UserFactory()
    with pytest.raises(ValidationError):
        services.create_key(
            organization=org, key_type="server", name="k", created_by=stranger, scopes=["x:read"]
        )
    superuser = UserFactory(is_superuser=True)
    services.create_key(
        organization=org, key_type="server", name="k", created_by=superuser, scopes=["*"]
    )


def test_lifetime_quota_from_key_type(settings):
    settings.APIKEYS = {"KEY_TYPES": {"test": {"prefix": "sk_test", "lifetime_quota": 10}}}
    api_key, _ = make_key(key_type="test")
    assert api_key.remaining_uses == 10


def test_create_sends_signal_on_commit_and_audits(django_capture_on_commit_callbacks):
    received = []
    handler = lambda sender, **kw: received.append(kw)  # noqa: E731
    signals.api_key_created.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            api_key, raw = make_key()
    finally:
        signals.api_key_created.disconnect(handler)
    assert received[0]["api_key"] == api_key
    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.Action.KEY_CREATED
    assert event.target_id == str(api_key.pk)
    assert raw not in str(event.details) + event.target_repr


def test_revoke_is_one_way(django_capture_on_commit_callbacks):
    api_key, _ = make_key()
    actor = MembershipFactory(organization=api_key.organization).user
    received = []
    handler = lambda sender, **kw: received.append(kw)  # noqa: E731
    signals.api_key_revoked.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.revoke_key(api_key, actor=actor, ip_address="10.0.0.1") is True
            assert services.revoke_key(api_key, actor=actor) is False
    finally:
        signals.api_key_revoked.disconnect(handler)
    api_key.refresh_from_db()
    assert not api_key.is_active and api_key.revoked_at and api_key.revoked_by == actor
    assert api_key.status == "revoked"
    assert len(received) == 1
    event = AuditEvent.objects.get(action=AuditEvent.Action.KEY_REVOKED)
    assert event.actor == actor and event.ip_address == "10.0.0.1"


def test_roll_key_keeps_settings_and_sets_grace(django_capture_on_commit_callbacks):
    api_key, raw = make_key(
        scopes=["clients:read"], rate_limit_per_minute=5, allowed_origins=["https://a.example"]
    )
    received = []
    handler = lambda sender, **kw: received.append(kw)  # noqa: E731
    signals.api_key_rolled.connect(handler)
    before = timezone.now()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            new, new_raw = services.roll_key(api_key, grace_period=datetime.timedelta(hours=2))
    finally:
        signals.api_key_rolled.disconnect(handler)
    assert new_raw != raw and new.replaces == api_key
    assert (new.scopes, new.rate_limit_per_minute, new.allowed_origins, new.key_type) == (
        ["clients:read"],
        5,
        ["https://a.example"],
        "server",
    )
    api_key.refresh_from_db()
    assert api_key.is_active
    assert before + datetime.timedelta(hours=2) <= api_key.expires_at
    assert api_key.expires_at <= timezone.now() + datetime.timedelta(hours=2)
    assert received[0]["old_key"] == api_key
    assert AuditEvent.objects.filter(action=AuditEvent.Action.KEY_ROLLED).count() == 1
    # rolling a revoked key is refused
    services.revoke_key(new)
    with pytest.raises(ValidationError):
        services.roll_key(new)


def test_roll_default_grace_is_setting(settings):
    settings.APIKEYS = {"ROLL_GRACE_PERIOD": 60}
    api_key, _ = make_key()
    services.roll_key(api_key)
    api_key.refresh_from_db()
    assert api_key.expires_at <= timezone.now() + datetime.timedelta(seconds=60)


def test_roll_with_zero_grace_revokes_now():
    api_key, _ = make_key()
    services.roll_key(api_key, grace_period=datetime.timedelta(0))
    api_key.refresh_from_db()
    assert api_key.is_revoked


def test_roll_keeps_an_earlier_expiry():
    soon = timezone.now() + datetime.timedelta(minutes=5)
    api_key, _ = make_key(expires_at=soon)
    services.roll_key(api_key)
    api_key.refresh_from_db()
    assert api_key.expires_at == soon


def test_roll_rejects_negative_grace():
    api_key, _ = make_key()
    with pytest.raises(ValidationError):
        services.roll_key(api_key, grace_period=datetime.timedelta(seconds=-1))


# --- members -------------------------------------------------------------------


def test_manager_cannot_grant_owner_and_last_owner_stays(django_capture_on_commit_callbacks):
    owner = MembershipFactory(role=role("Owner"))
    org = owner.organization
    manager = MembershipFactory(organization=org, role=role("Manager"))
    newcomer = UserFactory()
    with pytest.raises(ValidationError):
        services.add_member(org, newcomer, role("Owner"), actor=manager.user)
    received = []
    handler = lambda sender, **kw: received.append(kw["action"])  # noqa: E731
    signals.membership_changed.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            m = services.add_member(org, newcomer, role("Editor"), actor=manager.user)
            services.change_role(m, role("Billing"), actor=manager.user)
            services.remove_member(m, actor=manager.user)
    finally:
        signals.membership_changed.disconnect(handler)
    assert received == ["added", "role_changed", "removed"]
    assert [e.action for e in AuditEvent.objects.order_by("created_at")] == [
        "member.added",
        "member.role_changed",
        "member.removed",
    ]
    with pytest.raises(ValidationError):
        services.change_role(owner, role("Editor"), actor=manager.user)  # manager vs owner
    with pytest.raises(ValidationError) as exc:
        services.change_role(owner, role("Editor"), actor=owner.user)
    assert "last_owner" in _codes(exc)
    with pytest.raises(ValidationError) as exc:
        services.remove_member(owner, actor=owner.user)
    assert "last_owner" in _codes(exc)
    with pytest.raises(ValidationError) as exc:
        services.add_member(org, manager.user, role("Editor"), actor=owner.user)
    assert "already_member" in _codes(exc)
    second = services.add_member(org, UserFactory(), role("Owner"), actor=owner.user)
    services.remove_member(owner, actor=second.user)
    assert not Membership.objects.filter(pk=owner.pk).exists()


def test_deleting_organization_deletes_keys_and_memberships():
    membership = MembershipFactory()
    make_key(membership.organization)
    membership.organization.delete()
    assert not APIKey.objects.exists() and not Membership.objects.exists()


def test_a_key_gets_no_implicit_wildcard_and_an_expiry_by_default():
    """The secure default: scopes are named (``scopes_required`` otherwise) and a
    key expires after ``DEFAULT_KEY_EXPIRY_DAYS`` unless ``expires_at=None``."""
    org = OrganizationFactory()
    with pytest.raises(ValidationError) as exc:
        services.create_key(organization=org, key_type="server", name="k")
    assert "scopes_required" in _codes(exc)
    assert not APIKey.objects.exists()
    before = timezone.now()
    api_key, _ = services.create_key(
        organization=org, key_type="server", name="k", scopes=["clients:read"]
    )
    assert api_key.scopes == ["clients:read"]
    expected = before + datetime.timedelta(days=90)
    assert expected <= api_key.expires_at <= timezone.now() + datetime.timedelta(days=90)
    forever, _ = services.create_key(
        organization=org, key_type="server", name="k", scopes=["*"], expires_at=None
    )
    assert forever.expires_at is None


def test_the_default_expiry_is_a_setting(settings):
    settings.APIKEYS = {"DEFAULT_KEY_EXPIRY_DAYS": 7}
    org = OrganizationFactory()
    api_key, _ = services.create_key(organization=org, key_type="server", name="k", scopes=["*"])
    assert api_key.expires_at.date() == (timezone.now() + datetime.timedelta(days=7)).date()
    settings.APIKEYS = {"DEFAULT_KEY_EXPIRY_DAYS": None}
    api_key, _ = services.create_key(organization=org, key_type="server", name="k", scopes=["*"])
    assert api_key.expires_at is None


def test_a_type_with_default_scopes_still_gets_them():
    """Publishable keys declare ``default_scopes: []``: none unless asked for."""
    api_key, _ = services.create_key(
        organization=OrganizationFactory(), key_type="publishable", name="w"
    )
    assert api_key.scopes == []
