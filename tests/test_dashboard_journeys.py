"""Dashboard journeys through Django's test client: create and show once, use,
roll with a grace period, revoke; members; audit log and signals; usage."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_apikeys import signals
from django_apikeys.models import APIKey, AuditEvent, Membership, UsageRecord
from tests.factories import MembershipFactory, UserFactory, make_key, role

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> Membership:
    return MembershipFactory(role=role("Owner"))


def url(name: str, *args: Any) -> str:
    return reverse(f"django_apikeys:{name}", args=args)


def create_key(client: Client, org: Any, key_type: str = "server", **data: Any) -> Any:
    page = client.get(url("key_create", org.pk) + f"?type={key_type}")
    token = page.context["form"]["form_token"].value()
    post = {"key_type": key_type, "form_token": token, "name": "Backend", "expiry": "never"}
    post.update(data)
    return client.post(url("key_create", org.pk) + f"?type={key_type}", post)


def call_api(api_client: Any, raw_key: str, path: str = "/api/v1/clients") -> Any:
    return api_client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw_key}")


def test_create_shows_the_key_once_and_it_works(client, api_client, owner):
    client.force_login(owner.user)
    response = create_key(client, owner.organization, scopes=["*"], extra_scopes="clients:read")
    assert response.status_code == 200
    raw = response.context["raw_key"]
    api_key = response.context["api_key"]
    body = response.content.decode()
    assert body.count(raw) == 1  # in the readonly input only
    assert 'readonly value="' + raw in body
    assert "only time the key is shown" in body
    assert response["Cache-Control"].startswith("no-store")
    assert response["Pragma"] == "no-cache"
    assert api_key.scopes == ["*", "clients:read"]
    assert api_key.created_by == owner.user and api_key.user is None
    assert call_api(api_client, raw).status_code == 200
    # The key list and a fresh GET of the form never show it again.
    for page in (url("key_list", owner.organization.pk), url("key_create", owner.organization.pk)):
        again = client.get(page)
        assert again.status_code == 200
        assert raw not in again.content.decode()
    assert api_key.hint in client.get(url("key_list", owner.organization.pk)).content.decode()


def test_a_publishable_key_with_allowed_origins(client, api_client, owner):
    """Created with origins: the key carries them, the show-once page and the
    key list show them, and rolling keeps them."""
    client.force_login(owner.user)
    org = owner.organization
    response = create_key(
        client,
        org,
        "publishable",
        name="Shop widget",
        scopes=["*"],
        allowed_origins="https://Shop.Example\nhttp://localhost:3000",
    )
    assert response.status_code == 200
    api_key = response.context["api_key"]
    origins = ["http://localhost:3000", "https://shop.example"]
    assert APIKey.objects.get(pk=api_key.pk).allowed_origins == origins
    shown = response.content.decode()
    assert all(origin in shown for origin in origins)
    listing = client.get(url("key_list", org.pk)).content.decode()
    assert all(origin in listing for origin in origins)
    page = client.get(url("key_roll", org.pk, api_key.pk))
    token = page.context["form"]["form_token"].value()
    rolled = client.post(
        url("key_roll", org.pk, api_key.pk), {"form_token": token, "grace_period": 0}
    )
    assert rolled.context["api_key"].allowed_origins == origins


def test_a_publishable_key_without_origins_is_listed_as_usable_from_any_origin(client, owner):
    client.force_login(owner.user)
    create_key(client, owner.organization, "publishable", name="Open widget", scopes=["*"])
    create_key(client, owner.organization, "server", name="Backend", scopes=["*"])
    listing = client.get(url("key_list", owner.organization.pk)).content.decode()
    assert listing.count("any origin") == 1


def test_reloading_the_show_once_page_creates_and_shows_nothing(client, owner):
    client.force_login(owner.user)
    page = client.get(url("key_create", owner.organization.pk))
    data = {
        "key_type": "server",
        "form_token": page.context["form"]["form_token"].value(),
        "name": "Once",
        "scopes": ["*"],
        "expiry": "never",
    }
    first = client.post(url("key_create", owner.organization.pk), data)
    raw = first.context["raw_key"]
    again = client.post(url("key_create", owner.organization.pk), data)  # browser reload
    assert again.status_code == 409
    assert "raw_key" not in again.context
    assert raw not in again.content.decode()
    assert "already submitted" in again.content.decode()
    assert APIKey.objects.filter(name="Once").count() == 1


def test_a_form_with_errors_keeps_its_token(client, owner):
    client.force_login(owner.user)
    bad = create_key(client, owner.organization, name="")
    assert bad.status_code == 200 and "name" in bad.context["form"].errors
    token = bad.context["form"]["form_token"].value()
    good = client.post(
        url("key_create", owner.organization.pk),
        {
            "key_type": "server",
            "form_token": token,
            "name": "Fixed",
            "scopes": ["*"],
            "expiry": "7",
        },
    )
    assert good.status_code == 200 and good.context["raw_key"]


@pytest.mark.parametrize(
    "expiry, extra, expected_days",
    [("never", {}, None), ("7", {}, 7), ("30", {}, 30), ("90", {}, 90)],
)
def test_expiry_choices(client, owner, expiry, extra, expected_days):
    client.force_login(owner.user)
    response = create_key(client, owner.organization, scopes=["*"], expiry=expiry, **extra)
    api_key = response.context["api_key"]
    if expected_days is None:
        assert api_key.expires_at is None
    else:
        delta = api_key.expires_at - timezone.now()
        assert datetime.timedelta(days=expected_days, minutes=-1) < delta
        assert delta <= datetime.timedelta(days=expected_days)


def test_expiry_on_a_date_ends_with_that_day(client, owner):
    client.force_login(owner.user)
    day = timezone.localdate() + datetime.timedelta(days=3)
    response = create_key(
        client, owner.organization, scopes=["*"], expiry="date", expires_on=day.isoformat()
    )
    expires = timezone.localtime(response.context["api_key"].expires_at)
    assert expires.date() == day + datetime.timedelta(days=1)
    assert (expires.hour, expires.minute) == (0, 0)


def test_publishable_keys_take_their_own_rate_limits(client, owner):
    client.force_login(owner.user)
    response = create_key(
        client,
        owner.organization,
        "publishable",
        scopes=["*"],
        rate_limit_per_minute="5",
        rate_limit_per_day="500",
    )
    api_key = response.context["api_key"]
    assert (api_key.rate_limit_per_minute, api_key.rate_limit_per_day) == (5, 500)
    # Other types have no per-key limit fields; posted values are ignored.
    form = client.get(url("key_create", owner.organization.pk) + "?type=server").context["form"]
    assert "rate_limit_per_minute" not in form.fields
    response = create_key(client, owner.organization, scopes=["*"], rate_limit_per_minute="5")
    assert response.context["api_key"].rate_limit_per_minute == 0


def test_a_user_key_belongs_to_its_creator(client, api_client, owner):
    client.force_login(owner.user)
    response = create_key(client, owner.organization, "user", scopes=["*"])
    api_key = response.context["api_key"]
    assert api_key.user == owner.user
    assert call_api(api_client, response.context["raw_key"]).status_code == 200


def test_roll_keeps_the_old_key_for_the_grace_period(client, api_client, owner):
    old, old_raw = make_key(owner.organization, scopes=["clients:read"], created_by=owner.user)
    client.force_login(owner.user)
    page = client.get(url("key_roll", owner.organization.pk, old.pk))
    assert page.context["form"]["grace_period"].value() == 24 * 60 * 60  # the default
    data = {"form_token": page.context["form"]["form_token"].value(), "grace_period": "3600"}
    response = client.post(url("key_roll", owner.organization.pk, old.pk), data)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store")
    new, new_raw = response.context["api_key"], response.context["raw_key"]
    assert new.replaces == old and new.scopes == ["clients:read"]
    old.refresh_from_db()
    assert timezone.now() + datetime.timedelta(minutes=59) < old.expires_at
    assert call_api(api_client, old_raw).status_code == 200
    assert call_api(api_client, new_raw).status_code == 200
    # After the grace period the old key stops working.
    APIKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    expired = call_api(api_client, old_raw)
    assert (expired.status_code, expired.json()["code"]) == (401, "key_expired")
    # Re-sending the roll POST makes no second key.
    again = client.post(url("key_roll", owner.organization.pk, old.pk), data)
    assert "raw_key" not in again.context
    assert APIKey.objects.filter(replaces=old).count() == 1


def test_roll_with_no_grace_stops_the_old_key_at_once(client, api_client, owner):
    old, old_raw = make_key(owner.organization, scopes=["*"], created_by=owner.user)
    client.force_login(owner.user)
    page = client.get(url("key_roll", owner.organization.pk, old.pk))
    data = {"form_token": page.context["form"]["form_token"].value(), "grace_period": "0"}
    client.post(url("key_roll", owner.organization.pk, old.pk), data)
    response = call_api(api_client, old_raw)
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")


def test_a_revoked_key_cannot_be_rolled(client, owner):
    old, _raw = make_key(owner.organization, scopes=["*"])
    from django_apikeys import services

    services.revoke_key(old)
    client.force_login(owner.user)
    page = client.get(url("key_roll", owner.organization.pk, old.pk))
    data = {"form_token": page.context["form"]["form_token"].value(), "grace_period": "0"}
    response = client.post(url("key_roll", owner.organization.pk, old.pk), data)
    assert response.status_code == 200
    assert "Only an active key" in str(response.context["form"].non_field_errors())


def test_revoke_confirms_then_takes_effect_on_the_next_request(client, api_client, owner):
    api_key, raw = make_key(owner.organization, scopes=["*"])
    client.force_login(owner.user)
    page = client.get(url("key_revoke", owner.organization.pk, api_key.pk))
    assert page.status_code == 200 and b"Revoke key" in page.content
    assert call_api(api_client, raw).status_code == 200
    response = client.post(url("key_revoke", owner.organization.pk, api_key.pk), follow=True)
    assert response.redirect_chain[-1][0] == url("key_list", owner.organization.pk)
    assert f"Revoked “{api_key.name}”" in response.content.decode()
    denied = call_api(api_client, raw)
    assert (denied.status_code, denied.json()["code"]) == (401, "key_revoked")
    # Revoking twice is harmless.
    again = client.post(url("key_revoke", owner.organization.pk, api_key.pk), follow=True)
    assert "already revoked" in again.content.decode()


@pytest.mark.parametrize(
    "status, expected",
    [
        ("active", {"live"}),
        ("revoked", {"dead"}),
        ("expired", {"old"}),
        ("all", {"live", "dead", "old"}),
    ],
)
def test_key_list_filters_by_status(client, owner, status, expected):
    from django_apikeys import services

    make_key(owner.organization, name="live")
    services.revoke_key(make_key(owner.organization, name="dead")[0])
    old = make_key(owner.organization, name="old")[0]
    APIKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    client.force_login(owner.user)
    response = client.get(url("key_list", owner.organization.pk) + f"?status={status}")
    assert {k.name for k in response.context["api_keys"]} == expected


# --- members -----------------------------------------------------------------


@pytest.mark.parametrize("login_field", ["username", "email", "EMAIL"])
def test_add_member_by_username_or_email(client, owner, login_field):
    newcomer = UserFactory(email="new.person@example.com")
    value = {"username": newcomer.username, "email": newcomer.email}.get(
        login_field, newcomer.email.upper()
    )
    # Adding an account by username is for superusers (others invite by e-mail).
    owner.user.is_superuser = True
    owner.user.save()
    client.force_login(owner.user)
    response = client.post(
        url("member_list", owner.organization.pk), {"user": value, "role": role("Editor").pk}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=newcomer, organization=owner.organization)
    assert membership.role.name == "Editor"


def test_manager_cannot_grant_owner(client, owner):
    manager = MembershipFactory(organization=owner.organization, role=role("Manager"))
    newcomer = UserFactory()
    client.force_login(manager.user)
    form = client.get(url("invitation_list", owner.organization.pk)).context["form"]
    assert "Owner" not in {r.name for r in form.fields["role"].queryset}
    response = client.post(
        url("invitation_list", owner.organization.pk),
        {"email": newcomer.email, "role": role("Owner").pk},
    )
    assert "role" in response.context["form"].errors
    assert not Membership.objects.filter(user=newcomer).exists()
    # Nor promote someone to Owner, nor demote or remove an Owner.
    editor = MembershipFactory(organization=owner.organization, role=role("Editor"))
    client.post(url("member_change", owner.organization.pk, editor.pk), {"role": role("Owner").pk})
    editor.refresh_from_db()
    assert editor.role.name == "Editor"
    response = client.post(
        url("member_change", owner.organization.pk, owner.pk), {"role": role("Editor").pk}
    )
    assert response.context["form"].errors
    response = client.post(url("member_remove", owner.organization.pk, owner.pk))
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert Membership.objects.filter(pk=owner.pk, role__name="Owner").exists()


def test_change_role(client, owner):
    editor = MembershipFactory(organization=owner.organization, role=role("Editor"))
    client.force_login(owner.user)
    response = client.post(
        url("member_change", owner.organization.pk, editor.pk), {"role": role("Billing").pk}
    )
    assert response.status_code == 302
    editor.refresh_from_db()
    assert editor.role.name == "Billing"


def test_the_last_owner_can_be_neither_demoted_nor_removed(client, owner):
    client.force_login(owner.user)
    response = client.post(
        url("member_change", owner.organization.pk, owner.pk), {"role": role("Manager").pk}
    )
    assert response.status_code == 200
    assert "at least one Owner" in str(response.context["form"].errors["role"])
    response = client.post(url("member_remove", owner.organization.pk, owner.pk))
    assert response.status_code == 200
    assert "at least one Owner" in str(response.context["form"].non_field_errors())
    owner.refresh_from_db()
    assert owner.role.name == "Owner"


def test_remove_member_and_leaving_yourself(client, owner):
    editor = MembershipFactory(organization=owner.organization, role=role("Editor"))
    second_owner = MembershipFactory(organization=owner.organization, role=role("Owner"))
    client.force_login(owner.user)
    assert client.get(url("member_remove", owner.organization.pk, editor.pk)).status_code == 200
    response = client.post(url("member_remove", owner.organization.pk, editor.pk))
    assert response["Location"] == url("member_list", owner.organization.pk)
    assert not Membership.objects.filter(pk=editor.pk).exists()
    response = client.post(url("member_remove", owner.organization.pk, owner.pk))
    assert response["Location"] == url("organization_list")
    assert client.get(url("organization_detail", owner.organization.pk)).status_code == 404
    assert Membership.objects.filter(pk=second_owner.pk).exists()


# --- audit log and signals -----------------------------------------------------


def test_every_change_is_audited_and_signalled(client, owner, django_capture_on_commit_callbacks):
    received: list[str] = []
    handlers = {
        signals.api_key_created: lambda **kw: received.append("created"),
        signals.api_key_rolled: lambda **kw: received.append("rolled"),
        signals.api_key_revoked: lambda **kw: received.append("revoked"),
        signals.membership_changed: lambda **kw: received.append("member." + kw["action"]),
    }
    for signal, handler in handlers.items():
        signal.connect(handler, weak=False)
    org = owner.organization
    newcomer = UserFactory()
    owner.user.is_superuser = True  # adds an account by username below
    owner.user.save()
    client.force_login(owner.user)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            created = create_key(client, org, scopes=["*"]).context["api_key"]
            page = client.get(url("key_roll", org.pk, created.pk))
            token = page.context["form"]["form_token"].value()
            rolled = client.post(
                url("key_roll", org.pk, created.pk), {"form_token": token, "grace_period": "0"}
            ).context["api_key"]
            client.post(url("key_revoke", org.pk, rolled.pk))
            client.post(
                url("member_list", org.pk), {"user": newcomer.username, "role": role("Editor").pk}
            )
            membership = Membership.objects.get(user=newcomer)
            client.post(url("member_change", org.pk, membership.pk), {"role": role("Billing").pk})
            client.post(url("member_remove", org.pk, membership.pk))
    finally:
        for signal, handler in handlers.items():
            signal.disconnect(handler)
    assert received == [
        "created",
        "rolled",
        "revoked",
        "member.added",
        "member.role_changed",
        "member.removed",
    ]
    Action = AuditEvent.Action
    events = list(AuditEvent.objects.filter(organization=org).order_by("created_at", "pk"))
    assert [e.action for e in events] == [
        Action.KEY_CREATED,
        Action.KEY_ROLLED,
        Action.KEY_REVOKED,
        Action.MEMBER_ADDED,
        Action.MEMBER_ROLE_CHANGED,
        Action.MEMBER_REMOVED,
    ]
    assert {(e.actor_id, e.ip_address) for e in events} == {(owner.user.pk, "127.0.0.1")}
    # The audit page lists them, newest first, with actor, target and IP.
    response = client.get(url("audit_log", org.pk))
    assert list(response.context["events"]) == events[::-1]
    body = response.content.decode()
    assert "127.0.0.1" in body and owner.user.username in body and "Member removed" in body
    filtered = client.get(url("audit_log", org.pk) + "?action=key.revoked")
    assert [e.action for e in filtered.context["events"]] == [Action.KEY_REVOKED]


def test_audit_log_shows_only_this_organizations_events(client, owner):
    other = MembershipFactory(role=role("Owner"))
    make_key(other.organization, name="secret-other-key", created_by=other.user)
    make_key(owner.organization, name="our-key", created_by=owner.user)
    client.force_login(owner.user)
    body = client.get(url("audit_log", owner.organization.pk)).content.decode()
    assert "our-key" in body and "secret-other-key" not in body


# --- usage -------------------------------------------------------------------


def test_usage_page_charts_the_organization_and_one_key(client, owner):
    key_a = make_key(owner.organization, name="a")[0]
    key_b = make_key(owner.organization, name="b")[0]
    today = timezone.localdate()
    UsageRecord.objects.create(organization=owner.organization, api_key=key_a, date=today, count=7)
    UsageRecord.objects.create(organization=owner.organization, api_key=key_b, date=today, count=5)
    other = MembershipFactory(role=role("Owner")).organization
    UsageRecord.objects.create(organization=other, date=today, count=1000)
    client.force_login(owner.user)
    response = client.get(url("usage", owner.organization.pk) + "?days=7")
    assert response.context["total"] == 12
    assert len(response.context["buckets"]) == 7
    assert "apikeys-outcomes-chart" in response.content.decode()
    one = client.get(url("usage", owner.organization.pk) + f"?key={key_a.pk}")
    assert one.context["total"] == 7 and one.context["selected_key"] == key_a


def test_billing_sees_usage_without_keys(client, owner):
    billing = MembershipFactory(organization=owner.organization, role=role("Billing"))
    api_key = make_key(owner.organization, name="hidden-from-billing")[0]
    client.force_login(billing.user)
    response = client.get(url("usage", owner.organization.pk) + f"?key={api_key.pk}")
    assert response.status_code == 200
    assert response.context["selected_key"] is None
    assert api_key.hint not in response.content.decode()
    assert "hidden-from-billing" not in response.content.decode()


def test_only_the_owner_of_a_user_key_can_roll_it(client, owner):
    """Rolling shows the new key to whoever rolls: a Manager must not get a key
    that acts as the Owner. The Manager can still revoke it."""
    manager = MembershipFactory(organization=owner.organization, role=role("Manager"))
    owners_key, _raw = make_key(owner.organization, "user", user=owner.user, scopes=["*"])
    roll_url = url("key_roll", owner.organization.pk, owners_key.pk)
    client.force_login(manager.user)
    listing = client.get(url("key_list", owner.organization.pk)).content.decode()
    assert roll_url not in listing
    assert url("key_revoke", owner.organization.pk, owners_key.pk) in listing
    assert client.get(roll_url).status_code == 403
    assert client.post(roll_url, {"grace_period": "0"}).status_code == 403
    assert not owners_key.replaced_by.exists()
    client.force_login(owner.user)
    assert roll_url in client.get(url("key_list", owner.organization.pk)).content.decode()
    assert client.get(roll_url).status_code == 200
