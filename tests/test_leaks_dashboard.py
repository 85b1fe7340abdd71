"""Regenerating fast in the dashboard and the admin: IP allowlists on the
create form, "the key may have leaked" roll, the Owners-only incident action
(revoke every key), last used IP; admin roll actions and allowlist fields."""

from __future__ import annotations

import re

import pytest
from django.core.cache import caches
from django.urls import reverse

from django_apikeys import keys, services
from django_apikeys.models import APIKey, AuditEvent
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key, role

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


@pytest.fixture
def team():
    org = OrganizationFactory(slug="acme")
    members = {
        name: MembershipFactory(organization=org, role=role(name))
        for name in ("Owner", "Manager", "Editor")
    }
    return org, members


def _form_token(html: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_create_form_stores_an_ip_allowlist(client, team, api_client):
    org, members = team
    client.force_login(members["Owner"].user)
    url = reverse("django_apikeys:key_create", args=[org.pk]) + "?type=server"
    page = client.get(url)
    assert 'name="allowed_ips"' in page.content.decode()
    data = {
        "form_token": _form_token(page.content.decode()),
        "key_type": "server",
        "name": "office only",
        "scopes": ["*"],
        "expiry": "never",
        "allowed_ips": "203.0.113.0/24\n\n2001:DB8::1\n",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    api_key = APIKey.objects.get(name="office only")
    assert api_key.allowed_ips == ["2001:db8::1", "203.0.113.0/24"]
    raw = re.search(r"sk_[A-Za-z0-9]{32}_[0-9a-f]{8}", response.content.decode()).group(0)
    assert (
        api_client.get(
            ME, REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION=f"Bearer {raw}"
        ).status_code
        == 200
    )
    denied = api_client.get(ME, REMOTE_ADDR="198.51.100.5", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert denied.status_code == 403 and denied.json()["code"] == "ip_not_allowed"


@pytest.mark.parametrize("text", ["10.0.0.5/24", "not-an-ip", "203.0.113"])
def test_create_form_refuses_bad_networks(client, team, text):
    org, members = team
    client.force_login(members["Owner"].user)
    url = reverse("django_apikeys:key_create", args=[org.pk]) + "?type=server"
    page = client.get(url)
    data = {
        "form_token": _form_token(page.content.decode()),
        "key_type": "server",
        "name": "bad",
        "scopes": ["*"],
        "expiry": "never",
        "allowed_ips": text,
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "allowed_ips" in response.context["form"].errors
    assert not APIKey.objects.filter(name="bad").exists()


def test_key_list_shows_last_used_ip_allowlist_and_leak(client, team, api_client):
    org, members = team
    api_key, raw = make_key(org, allowed_ips=["203.0.113.0/24"])
    api_client.get(ME, REMOTE_ADDR="203.0.113.77", HTTP_AUTHORIZATION=f"Bearer {raw}")
    APIKey.objects.filter(pk=api_key.pk).update(leaked_at=api_key.created_at)
    client.force_login(members["Owner"].user)
    html = client.get(reverse("django_apikeys:key_list", args=[org.pk])).content.decode()
    assert "from 203.0.113.77" in html
    assert "<code>203.0.113.0/24</code>" in html
    assert "Reported leaked" in html
    assert "?compromised=1" in html
    assert reverse("django_apikeys:key_revoke_all", args=[org.pk]) in html
    client.force_login(members["Manager"].user)
    html = client.get(reverse("django_apikeys:key_list", args=[org.pk])).content.decode()
    assert reverse("django_apikeys:key_revoke_all", args=[org.pk]) not in html


def test_roll_a_compromised_key_offers_stop_now_first(client, team, api_client):
    org, members = team
    api_key, old_raw = make_key(org, created_by=members["Owner"].user)
    client.force_login(members["Owner"].user)
    url = reverse("django_apikeys:key_roll", args=[org.pk, api_key.pk])
    routine = client.get(url)
    assert routine.context["form"]["grace_period"].value() == 24 * 60 * 60
    page = client.get(url + "?compromised=1")
    form = page.context["form"]
    assert form["grace_period"].value() == 0 and form["compromised"].value() is True
    html = page.content.decode()
    assert "may have leaked" in html
    first_option = re.search(r'<option value="(\d+)"', html).group(1)
    assert first_option == "0"
    response = client.post(
        url + "?compromised=1",
        {"form_token": _form_token(html), "grace_period": "0", "compromised": "on"},
    )
    assert response.status_code == 200
    api_key.refresh_from_db()
    assert api_key.is_revoked
    event = AuditEvent.objects.get(action=AuditEvent.Action.KEY_ROLLED)
    assert event.details["compromised"] is True
    old = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {old_raw}")
    assert old.status_code == 401 and old.json()["code"] == "key_revoked"


def test_revoke_every_key_owner_only_typed_confirmation(
    client, team, api_client, settings, django_capture_on_commit_callbacks
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}
    org, members = team
    raws = [make_key(org, name=f"k{i}")[1] for i in range(3)]
    user_key, user_raw = make_key(
        org, "user", user=members["Editor"].user, created_by=members["Editor"].user, scopes=[]
    )
    other_key, other_raw = make_key(OrganizationFactory())
    for raw in [*raws, user_raw]:  # warm the lookup cache
        assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    url = reverse("django_apikeys:key_revoke_all", args=[org.pk])
    for name in ("Manager", "Editor"):
        client.force_login(members[name].user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"confirm": "acme"}).status_code == 403
    client.force_login(members["Owner"].user)
    page = client.get(url)
    assert page.status_code == 200 and page.context["active_key_count"] == 4
    wrong = client.post(url, {"confirm": "Acme"})
    assert wrong.status_code == 200 and "confirm" in wrong.context["form"].errors
    assert APIKey.objects.filter(organization=org, is_active=True).count() == 4
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirm": "acme", "reason": "laptop stolen"})
    assert response.status_code == 302
    assert APIKey.objects.filter(organization=org, is_active=True).count() == 0
    assert APIKey.objects.get(pk=other_key.pk).is_active
    summary = AuditEvent.objects.get(action=AuditEvent.Action.KEYS_REVOKED_ALL)
    assert summary.details == {"count": 4, "reason": "laptop stolen"}
    assert summary.actor == members["Owner"].user
    assert AuditEvent.objects.filter(action="key.revoked", organization=org).count() == 4
    for raw in [*raws, user_raw]:  # the cache was invalidated: refused at once
        denied = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert denied.status_code == 401 and denied.json()["code"] == "key_revoked"
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {other_raw}").status_code == 200
    # Nothing left: a second run revokes nothing and says so.
    assert services.revoke_all_keys(org) == 0


def _refuse_summary_events(cursor, vendor: str) -> None:
    """A database trigger that refuses the incident's summary audit event: a
    real failure half-way through the transaction."""
    table = AuditEvent._meta.db_table
    if vendor == "postgresql":
        cursor.execute(
            "CREATE FUNCTION apikeys_refuse() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'refused'; END; $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER apikeys_refuse BEFORE INSERT ON {table} FOR EACH ROW "
            "WHEN (NEW.action = 'org.keys_revoked_all') EXECUTE FUNCTION apikeys_refuse()"
        )
    else:
        cursor.execute(
            f"CREATE TRIGGER apikeys_refuse BEFORE INSERT ON {table} "
            "WHEN NEW.action = 'org.keys_revoked_all' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )


def test_revoke_all_keys_is_one_transaction(team):
    """The database refuses the last write (the summary audit event): every
    key stays active and no per-key event remains."""
    from django.db import DatabaseError, connection

    org, _ = team
    for i in range(3):
        make_key(org, name=f"k{i}")
    with connection.cursor() as cursor:
        _refuse_summary_events(cursor, connection.vendor)
    with pytest.raises(DatabaseError):
        services.revoke_all_keys(org)
    assert APIKey.objects.filter(organization=org, is_active=True).count() == 3
    assert not AuditEvent.objects.filter(action="key.revoked").exists()


# --- admin ------------------------------------------------------------------------


def test_admin_roll_now_action_shows_new_keys_once(admin_client, api_client):
    first, first_raw = make_key(name="a")
    second, _ = make_key(name="b")
    revoked, _ = make_key(name="c")
    services.revoke_key(revoked)
    url = reverse("admin:django_apikeys_apikey_changelist")
    response = admin_client.post(
        url,
        {"action": "roll_keys_now", "_selected_action": [first.pk, second.pk, revoked.pk]},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    new_raws = re.findall(r'value="(sk_[A-Za-z0-9]{32}_[0-9a-f]{8})"', html)
    assert len(new_raws) == 2
    for raw in new_raws:
        assert APIKey.objects.get(hashed_key=keys.hash_key(raw)).replaces_id in {
            first.pk,
            second.pk,
        }
    assert "Not rolled" in html and "Only an active key can be rolled" in html
    first.refresh_from_db()
    assert first.is_revoked
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {first_raw}").status_code == 401
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {new_raws[0]}").status_code == 200


def test_admin_roll_action_keeps_old_keys_for_the_grace_period(admin_client):
    api_key, _ = make_key()
    url = reverse("admin:django_apikeys_apikey_changelist")
    response = admin_client.post(url, {"action": "roll_keys", "_selected_action": [api_key.pk]})
    assert response.status_code == 200
    api_key.refresh_from_db()
    assert api_key.is_active and api_key.expires_at is not None


def test_admin_roll_nothing_rollable_is_a_message(admin_client):
    api_key, _ = make_key()
    services.revoke_key(api_key)
    url = reverse("admin:django_apikeys_apikey_changelist")
    response = admin_client.post(
        url, {"action": "roll_keys_now", "_selected_action": [api_key.pk]}, follow=True
    )
    assert "No key could be rolled" in response.content.decode()


def test_admin_add_and_change_validate_the_allowlist(admin_client):
    org = OrganizationFactory()
    add = reverse("admin:django_apikeys_apikey_add")
    data = {
        "organization": org.pk,
        "key_type": "server",
        "name": "admin key",
        "scopes": "*",
        "rate_limit_per_minute": 0,
        "rate_limit_per_day": 0,
        "allowed_origins": "[]",
        "allowed_ips": '["10.0.0.5/24"]',
    }
    bad = admin_client.post(add, data)
    assert bad.status_code == 200 and "allowed_ips" in bad.context["adminform"].form.errors
    data["allowed_ips"] = '["10.0.0.0/24", "2001:DB8::1"]'
    assert admin_client.post(add, data).status_code == 200
    api_key = APIKey.objects.get(name="admin key")
    assert api_key.allowed_ips == ["10.0.0.0/24", "2001:db8::1"]
    change = reverse("admin:django_apikeys_apikey_change", args=[api_key.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and "allowed_ips" in page.context["adminform"].form.fields
    form_data = {
        "name": "admin key",
        "expires_at_0": "",
        "expires_at_1": "",
        "rate_limit_per_minute": 0,
        "rate_limit_per_day": 0,
        "allowed_origins": "[]",
        "allowed_ips": '["nope"]',
    }
    bad = admin_client.post(change, form_data)
    assert bad.status_code == 200 and "allowed_ips" in bad.context["adminform"].form.errors
    form_data["allowed_ips"] = '["198.51.100.7/32"]'
    assert admin_client.post(change, form_data).status_code == 302
    api_key.refresh_from_db()
    assert api_key.allowed_ips == ["198.51.100.7"]


def test_admin_lists_leaked_filter(admin_client):
    api_key, _ = make_key()
    APIKey.objects.filter(pk=api_key.pk).update(leaked_at=api_key.created_at)
    url = reverse("admin:django_apikeys_apikey_changelist") + "?leaked_at__isempty=0"
    response = admin_client.get(url)
    assert response.status_code == 200 and api_key.name in response.content.decode()


def test_user_with_no_email_is_skipped():
    from django_apikeys.notifications import recipients_by_address

    org = OrganizationFactory()
    owner = MembershipFactory(organization=org, user=UserFactory(email=""))
    api_key, _ = make_key(org)
    assert recipients_by_address([api_key], {org.pk: [owner.user]}) == {}
    caches["default"].clear()
