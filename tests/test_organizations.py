"""Organizations people run themselves: create, settings, ownership transfer,
leave, delete (deactivate) and purge. Invitations are in ``test_invitations.py``;
the page × role matrix of the new pages in ``test_organization_pages.py``."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from django_apikeys import services, signals
from django_apikeys.models import (
    APIKey,
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    UsageRecord,
)
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PlanFactory,
    UserFactory,
    make_key,
    role,
)

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"
Action = AuditEvent.Action


def url(name: str, *args) -> str:
    return reverse(f"django_apikeys:{name}", args=args)


@pytest.fixture
def owner() -> Membership:
    return MembershipFactory(role=role("Owner"))


class Received:
    """Collects the signals a test names, sent on commit."""

    def __init__(self, *names: str) -> None:
        self.calls: list[tuple[str, dict]] = []
        self._handlers = []
        for name in names:

            def handler(sender, _name=name, **kwargs):
                self.calls.append((_name, kwargs))

            getattr(signals, name).connect(handler, weak=False)
            self._handlers.append((getattr(signals, name), handler))

    def names(self) -> list[str]:
        return [name for name, _kw in self.calls]

    def close(self) -> None:
        for signal, handler in self._handlers:
            signal.disconnect(handler)


@pytest.fixture
def received():
    made: list[Received] = []

    def make(*names: str) -> Received:
        made.append(Received(*names))
        return made[-1]

    yield make
    for r in made:
        r.close()


# --- create ------------------------------------------------------------------


def test_a_signed_in_user_creates_an_organization_and_becomes_owner(
    client, received, django_capture_on_commit_callbacks
):
    user = UserFactory()
    client.force_login(user)
    got = received("organization_created", "membership_changed")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("organization_create"), {"name": "Acme Labs", "slug": ""})
    org = Organization.objects.get(name="Acme Labs")
    assert org.slug == "acme-labs"
    assert response.status_code == 302
    assert response["Location"] == url("organization_detail", org.pk)
    membership = Membership.objects.get(organization=org)
    assert (membership.user, membership.role.name) == (user, "Owner")
    event = AuditEvent.objects.get(organization=org)
    assert (event.action, event.actor) == (Action.ORGANIZATION_CREATED, user)
    assert got.names() == ["organization_created", "membership_changed"]
    assert got.calls[0][1]["organization"] == org
    assert client.get(response["Location"]).status_code == 200


def test_the_organization_list_offers_creation_to_a_user_without_organizations(client):
    client.force_login(UserFactory())
    response = client.get(url("organization_list"))
    assert url("organization_create") in response.content.decode()


@pytest.mark.parametrize(
    "slug, code",
    [
        ("new", "reserved_slug"),
        ("Admin", "reserved_slug"),
        ("has space", "invalid_slug"),
        ("émoji-🙂", "invalid_slug"),
        ("x" * 101, "max_length"),
        ("12345678-1234-5678-1234-567812345678", "uuid_slug"),
        ("taken", "slug_taken"),
    ],
)
def test_bad_slugs_are_form_errors(client, slug, code):
    OrganizationFactory(slug="taken")
    client.force_login(UserFactory())
    response = client.post(url("organization_create"), {"name": "Acme", "slug": slug})
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()
    assert "slug" in errors
    if code != "max_length":  # the form field's own max_length speaks first
        assert errors["slug"][0].code == code
    assert not Organization.objects.filter(name="Acme").exists()


def test_a_deleted_organizations_slug_stays_taken_until_purged(owner):
    services.delete_organization(owner.organization)
    with pytest.raises(ValidationError) as info:
        services.validate_slug(owner.organization.slug)
    assert info.value.error_dict["slug"][0].code == "slug_taken"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_bad_names_are_form_errors(client, name):
    client.force_login(UserFactory())
    response = client.post(url("organization_create"), {"name": name, "slug": "fine"})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert not Organization.objects.exists()


def test_reserved_slugs_are_a_setting(client, settings):
    settings.APIKEYS = {"RESERVED_SLUGS": ["acme"]}
    client.force_login(UserFactory())
    response = client.post(url("organization_create"), {"name": "Acme", "slug": "ACME"})
    assert response.context["form"].errors.as_data()["slug"][0].code == "reserved_slug"
    # The defaults are replaced, but the app's own URL words stay reserved.
    response = client.post(url("organization_create"), {"name": "Acme", "slug": "new"})
    assert response.context["form"].errors.as_data()["slug"][0].code == "reserved_slug"
    response = client.post(url("organization_create"), {"name": "Acme", "slug": "admin"})
    assert response.status_code == 302


def may_create_if_named_alice(user) -> bool:
    return user.username == "alice"


@pytest.mark.parametrize(
    "rule, staff, username, allowed",
    [
        ("all", False, "bob", True),
        ("staff", False, "bob", False),
        ("staff", True, "bob", True),
        ("tests.test_organizations.may_create_if_named_alice", False, "alice", True),
        ("tests.test_organizations.may_create_if_named_alice", False, "bob", False),
        (may_create_if_named_alice, False, "alice", True),
    ],
)
def test_who_may_create_is_a_setting(client, settings, rule, staff, username, allowed):
    settings.APIKEYS = {"ORGANIZATION_CREATION": rule}
    user = UserFactory(username=username, is_staff=staff)
    client.force_login(user)
    assert client.get(url("organization_create")).status_code == (200 if allowed else 403)
    response = client.post(url("organization_create"), {"name": "Acme", "slug": "acme"})
    assert response.status_code == (302 if allowed else 403)
    assert Organization.objects.filter(slug="acme").exists() == allowed
    listing = client.get(url("organization_list")).content.decode()
    assert (url("organization_create") in listing) == allowed


def test_the_service_refuses_creation_when_not_allowed(settings):
    settings.APIKEYS = {"ORGANIZATION_CREATION": "staff"}
    with pytest.raises(ValidationError) as info:
        services.create_organization(name="Acme", owner=UserFactory())
    assert info.value.code == "not_allowed"


def test_anonymous_users_cannot_create(client):
    response = client.get(url("organization_create"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.post(url("organization_create"), {"name": "Acme", "slug": "acme"})
    assert response.status_code == 302
    assert not Organization.objects.exists()


# --- settings ----------------------------------------------------------------


def test_an_owner_renames_and_reslugs(client, owner, received, django_capture_on_commit_callbacks):
    org = owner.organization
    client.force_login(owner.user)
    got = received("organization_updated")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("organization_settings", org.pk), {"name": "New name", "slug": "new-slug"}
        )
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.slug) == ("New name", "new-slug")
    event = AuditEvent.objects.get(organization=org, action=Action.ORGANIZATION_UPDATED)
    assert event.details["slug"][1] == "new-slug"
    assert got.calls[0][1]["changes"]["name"][1] == "New name"
    # Dashboard links name the organization by id: they keep working.
    assert client.get(url("organization_detail", org.pk)).status_code == 200


def test_a_changed_slug_no_longer_names_the_organization_in_the_header(api_client, owner):
    org = owner.organization
    old_slug = org.slug
    _key, raw = make_key(org)
    services.update_organization(org, name=org.name, slug="renamed", actor=owner.user)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert api_client.get(ME, HTTP_X_ORGANIZATION="renamed", **auth).status_code == 200
    response = api_client.get(ME, HTTP_X_ORGANIZATION=old_slug, **auth)
    assert (response.status_code, response.json()["code"]) == (403, "organization_mismatch")


def test_saving_unchanged_settings_changes_nothing(client, owner):
    org = owner.organization
    client.force_login(owner.user)
    client.post(url("organization_settings", org.pk), {"name": org.name, "slug": org.slug})
    assert not AuditEvent.objects.filter(action=Action.ORGANIZATION_UPDATED).exists()


@pytest.mark.parametrize("role_name", ["Manager", "Billing", "Editor"])
def test_only_owners_change_settings(client, owner, role_name):
    org = owner.organization
    member = MembershipFactory(organization=org, role=role(role_name))
    client.force_login(member.user)
    page = client.get(url("organization_settings", org.pk))
    assert page.status_code == 200 and not page.context["can_manage"]
    assert url("organization_delete", org.pk) not in page.content.decode()
    response = client.post(url("organization_settings", org.pk), {"name": "X", "slug": "x"})
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.name != "X"


def test_settings_show_the_plan_read_only(client, owner):
    org = owner.organization
    org.plan = PlanFactory(
        name="Pro", entitlements=["reports", "exports"], rate_limit_per_minute=600
    )
    org.save()
    editor = MembershipFactory(organization=org, role=role("Editor"))
    client.force_login(editor.user)
    body = client.get(url("organization_settings", org.pk)).content.decode()
    assert "Pro" in body and "reports, exports" in body and "600" in body
    assert 'name="plan"' not in body


def test_a_slug_taken_by_another_organization_is_a_form_error(client, owner):
    OrganizationFactory(slug="theirs")
    client.force_login(owner.user)
    response = client.post(
        url("organization_settings", owner.organization.pk), {"name": "A", "slug": "theirs"}
    )
    assert response.context["form"].errors.as_data()["slug"][0].code == "slug_taken"


# --- ownership ---------------------------------------------------------------


def transfer(client, org, member, new_role="Manager", confirmation=None):
    return client.post(
        url("organization_transfer", org.pk),
        {
            "member": member.pk,
            "new_role": role(new_role).pk,
            "confirmation": member.user.username if confirmation is None else confirmation,
        },
    )


def test_an_owner_transfers_ownership(client, owner, received, django_capture_on_commit_callbacks):
    org = owner.organization
    editor = MembershipFactory(organization=org, role=role("Editor"))
    client.force_login(owner.user)
    got = received("ownership_transferred")
    with django_capture_on_commit_callbacks(execute=True):
        response = transfer(client, org, editor)
    assert response.status_code == 302
    editor.refresh_from_db()
    owner.refresh_from_db()
    assert (editor.role.name, owner.role.name) == ("Owner", "Manager")
    assert got.calls[0][1]["to_user"] == editor.user
    actions = list(
        AuditEvent.objects.filter(organization=org).order_by("pk").values_list("action", flat=True)
    )
    assert actions == [
        Action.MEMBER_ROLE_CHANGED,
        Action.MEMBER_ROLE_CHANGED,
        Action.OWNERSHIP_TRANSFERRED,
    ]
    # The former Owner can no longer reach the Owner pages.
    assert client.get(url("organization_transfer", org.pk)).status_code == 403


def test_a_transfer_needs_the_typed_username(client, owner):
    org = owner.organization
    editor = MembershipFactory(organization=org, role=role("Editor"))
    client.force_login(owner.user)
    response = transfer(client, org, editor, confirmation="someone-else")
    assert response.status_code == 200
    assert "confirmation" in response.context["form"].errors
    editor.refresh_from_db()
    assert editor.role.name == "Editor"


def test_a_transfer_to_a_member_of_another_organization_is_refused(client, owner):
    stranger = MembershipFactory(role=role("Editor"))
    client.force_login(owner.user)
    response = transfer(client, owner.organization, stranger)
    assert "member" in response.context["form"].errors
    stranger.refresh_from_db()
    assert stranger.role.name == "Editor"


def test_the_service_keeps_an_owner_at_every_moment(owner):
    org = owner.organization
    other_owner = MembershipFactory(organization=org, role=role("Owner"))
    with pytest.raises(ValidationError) as info:
        services.transfer_ownership(org, other_owner, actor=owner.user, new_role=role("Editor"))
    assert info.value.error_dict["member"][0].code == "already_owner"
    manager = MembershipFactory(organization=org, role=role("Manager"))
    with pytest.raises(ValidationError) as info:
        services.transfer_ownership(org, owner, actor=manager.user, new_role=role("Editor"))
    assert info.value.code == "not_owner"
    assert Membership.objects.filter(organization=org, role__name="Owner").count() == 2


# --- leave -------------------------------------------------------------------


def test_a_member_leaves_and_their_user_keys_stop(
    client, api_client, owner, received, django_capture_on_commit_callbacks
):
    org = owner.organization
    editor = MembershipFactory(organization=org, role=role("Editor"))
    _key, raw = make_key(
        org, "user", user=editor.user, created_by=editor.user, scopes=["offers:read"]
    )
    client.force_login(editor.user)
    assert client.get(url("organization_leave", org.pk)).status_code == 200
    got = received("membership_changed")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("organization_leave", org.pk))
    assert response["Location"] == url("organization_list")
    assert not Membership.objects.filter(pk=editor.pk).exists()
    assert got.calls[0][1]["action"] == "left"
    event = AuditEvent.objects.get(organization=org, action=Action.MEMBER_LEFT)
    assert event.actor == editor.user
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert client.get(url("organization_detail", org.pk)).status_code == 404


def test_the_last_owner_cannot_leave_and_is_told_why(client, owner):
    client.force_login(owner.user)
    response = client.post(url("organization_leave", owner.organization.pk))
    assert response.status_code == 200
    assert "transfer ownership" in response.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()
    # With a second Owner, the first may leave.
    MembershipFactory(organization=owner.organization, role=role("Owner"))
    assert client.post(url("organization_leave", owner.organization.pk)).status_code == 302


# --- delete ------------------------------------------------------------------


def test_delete_needs_the_typed_slug(client, owner):
    org = owner.organization
    client.force_login(owner.user)
    response = client.post(url("organization_delete", org.pk), {"confirmation": "wrong"})
    assert response.status_code == 200
    assert "confirmation" in response.context["form"].errors
    org.refresh_from_db()
    assert org.is_active


def test_deleting_stops_every_key_at_once_with_a_clear_code(
    client, api_client, owner, received, django_capture_on_commit_callbacks
):
    org = owner.organization
    _server, server_raw = make_key(org, created_by=owner.user)
    _user, user_raw = make_key(org, "user", user=owner.user, created_by=owner.user)
    other_org_key, other_raw = make_key(OrganizationFactory())
    invitation = services.invite(
        org, email="x@example.com", role=role("Editor"), actor=owner.user, base_url="http://t"
    )
    for raw in (server_raw, user_raw):
        assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    client.force_login(owner.user)
    got = received("organization_deleted")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("organization_delete", org.pk), {"confirmation": org.slug})
    assert response["Location"] == url("organization_list")
    for raw in (server_raw, user_raw):
        response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 401
        assert response.json()["code"] == "organization_deactivated"
        assert response.json()["type"] == "AuthenticationError"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {other_raw}").status_code == 200
    org.refresh_from_db()
    assert not org.is_active and org.deactivated_by == owner.user
    assert got.names() == ["organization_deleted"]
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    # Members no longer see it; the audit log is kept until the purge.
    assert client.get(url("organization_detail", org.pk)).status_code == 404
    listing = client.get(url("organization_list"))
    assert [m.organization for m in listing.context["memberships"]] == []
    assert url("organization_detail", org.pk) not in listing.content.decode()
    assert AuditEvent.objects.filter(organization=org, action=Action.ORGANIZATION_DELETED).exists()
    assert services.delete_organization(org) is False


def test_deletion_is_seen_through_a_warm_lookup_cache(
    api_client, settings, owner, django_capture_on_commit_callbacks, django_assert_num_queries
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}
    org = owner.organization
    _key, raw = make_key(org)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert api_client.get(ME, **auth).status_code == 200  # now cached
    with django_assert_num_queries(0):
        assert api_client.get(ME, **auth).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_organization(org, actor=owner.user)
    response = api_client.get(ME, **auth)
    assert (response.status_code, response.json()["code"]) == (401, "organization_deactivated")


def test_a_session_user_cannot_pick_a_deleted_organization(api_client, owner):
    org = owner.organization
    api_client.force_login(owner.user)
    assert api_client.get(ME, HTTP_X_ORGANIZATION=org.slug).status_code == 200
    services.delete_organization(org)
    assert api_client.get(ME, HTTP_X_ORGANIZATION=org.slug).status_code == 403


@pytest.mark.parametrize("role_name", ["Manager", "Billing", "Editor"])
def test_only_owners_delete(client, owner, role_name):
    org = owner.organization
    member = MembershipFactory(organization=org, role=role(role_name))
    client.force_login(member.user)
    response = client.post(url("organization_delete", org.pk), {"confirmation": org.slug})
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.is_active


# --- purge -------------------------------------------------------------------


def test_purge_removes_only_what_is_past_retention(
    settings, owner, received, django_capture_on_commit_callbacks
):
    settings.APIKEYS = {"ORGANIZATION_RETENTION": 3600}
    org = owner.organization
    key, _raw = make_key(org, created_by=owner.user)
    UsageRecord.objects.create(organization=org, api_key=key, date=timezone.now().date(), count=3)
    recent = MembershipFactory(role=role("Owner")).organization
    services.delete_organization(org, actor=owner.user)
    services.delete_organization(recent)
    Organization.objects.filter(pk=org.pk).update(
        deactivated_at=timezone.now() - datetime.timedelta(hours=2)
    )
    out = StringIO()
    call_command("purgeorganizations", "--dry-run", stdout=out)
    assert org.slug in out.getvalue() and "1 organization(s) due" in out.getvalue()
    assert Organization.objects.filter(pk=org.pk).exists()
    got = received("organization_purged")
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purgeorganizations", stdout=out)
    assert "1 organization(s) purged" in out.getvalue()
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert not APIKey.objects.filter(organization_id=org.pk).exists()
    assert not AuditEvent.objects.filter(organization_id=org.pk).exists()
    assert not UsageRecord.objects.filter(organization_id=org.pk).exists()
    assert not Invitation.objects.filter(organization_id=org.pk).exists()
    assert got.calls[0][1]["slug"] == org.slug
    # The recent one waits; a second run finds nothing to do.
    assert Organization.objects.filter(pk=recent.pk).exists()
    out = StringIO()
    call_command("purgeorganizations", stdout=out)
    assert "0 organization(s) purged" in out.getvalue()


def test_purge_leaves_active_organizations_alone(owner):
    assert services.purge_organizations(now=timezone.now() + datetime.timedelta(days=3650)) == []
    assert Organization.objects.filter(pk=owner.organization.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_purge_skips_an_organization_another_run_holds_instead_of_waiting():
    """A real row lock held by another connection (an overlapping cron run):
    the purge leaves that organization to it and does the rest at once."""
    import threading
    import time

    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks between connections (PostgreSQL)")
    held = MembershipFactory(role=role("Owner")).organization
    free = MembershipFactory(role=role("Owner")).organization
    for org in (held, free):
        services.delete_organization(org)
    Organization.objects.update(deactivated_at=timezone.now() - datetime.timedelta(days=3650))
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                Organization.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        started = time.monotonic()
        purged = services.purge_organizations()
        assert time.monotonic() - started < 5
        assert [pk for pk, _slug in purged] == [free.pk]
        assert Organization.objects.filter(pk=held.pk).exists()
    finally:
        release.set()
        thread.join(timeout=30)
    assert [pk for pk, _slug in services.purge_organizations()] == [held.pk]


@pytest.mark.django_db(transaction=True)
def test_two_owners_leaving_at_once_leave_one_owner():
    """Real concurrent transactions: each Owner sees two Owners unless the
    Owner rows are locked; one leave must be refused."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent transactions (PostgreSQL)")
    first = MembershipFactory(role=role("Owner"))
    second = MembershipFactory(organization=first.organization, role=role("Owner"))
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def leave(membership: Membership) -> None:
        try:
            barrier.wait(timeout=10)
            services.leave_organization(membership)
            results[membership.pk] = "left"
        except ValidationError as exc:
            results[membership.pk] = exc.code or ""
        finally:
            connections.close_all()

    threads = [threading.Thread(target=leave, args=(m,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == ["last_owner", "left"]
    assert Membership.objects.filter(organization=first.organization).count() == 1


def test_a_deleted_organization_grants_no_permission(owner):
    org = owner.organization
    assert owner.user.has_perm("organization.manage_api_keys", org)
    services.delete_organization(org)
    org.refresh_from_db()
    user = type(owner.user).objects.get(pk=owner.user.pk)  # a fresh permission cache
    assert not user.has_perm("organization.manage_api_keys", org)


def test_without_an_owner_role_creation_is_a_clear_error_not_a_half_organization(client, settings):
    settings.APIKEYS = {"OWNER_ROLE": "Proprietor"}  # no such role
    client.force_login(UserFactory())
    response = client.post(url("organization_create"), {"name": "Acme", "slug": "acme"})
    assert response.status_code == 200
    assert "Proprietor" in str(response.context["form"].non_field_errors())
    assert not Organization.objects.exists()
    assert not Membership.objects.exists()
