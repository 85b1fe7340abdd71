"""Defences found necessary in review: each test fails without its fix."""

from __future__ import annotations

import datetime
import sys
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import path
from django.utils import timezone
from django.views.debug import ExceptionReporter
from rest_framework.response import Response
from rest_framework.views import APIView

from django_apikeys import services
from django_apikeys.authentication import APIKeyAuthentication
from django_apikeys.models import APIKey, Membership, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key, role

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture(params=[0, 300], ids=["cache-off", "cache-on"])
def lookup_cache(request, settings):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": request.param}
    return request.param


# --- owners -------------------------------------------------------------------


def test_deactivated_owner_key_is_refused(
    api_client, lookup_cache, django_capture_on_commit_callbacks
):
    membership = MembershipFactory()
    _, raw = make_key(membership.organization, "user", user=membership.user)
    assert api_client.get(ME, **bearer(raw)).status_code == 200  # warms the cache
    with django_capture_on_commit_callbacks(execute=True):
        membership.user.is_active = False
        membership.user.save()
    response = api_client.get(ME, **bearer(raw))
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")


def test_login_does_not_drop_cached_keys(settings, django_capture_on_commit_callbacks):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}
    membership = MembershipFactory()
    make_key(membership.organization, "user", user=membership.user)
    with mock.patch("django_apikeys.cache.invalidate_many") as invalidate:
        with django_capture_on_commit_callbacks(execute=True):
            membership.user.last_login = timezone.now()
            membership.user.save(update_fields=["last_login"])
    invalidate.assert_not_called()


def test_only_the_owner_creates_a_user_key():
    owner = MembershipFactory(role=role("Owner"))
    manager = MembershipFactory(organization=owner.organization, role=role("Manager"))
    with pytest.raises(ValidationError) as exc:
        services.create_key(
            organization=owner.organization,
            key_type="user",
            name="as the owner",
            user=owner.user,
            created_by=manager.user,
        )
    assert exc.value.error_dict["user"][0].code == "owner_not_creator"
    services.create_key(
        organization=owner.organization,
        key_type="user",
        name="mine",
        user=manager.user,
        created_by=manager.user,
    )
    superuser = UserFactory(is_superuser=True)
    services.create_key(
        organization=owner.organization,
        key_type="user",
        name="support",
        user=owner.user,
        created_by=superuser,
    )


# --- roles ----------------------------------------------------------------------


def test_a_role_with_wider_scopes_cannot_be_granted():
    narrow = Role.objects.create(
        name="Narrow manager",
        permissions=["organization.view_organization", "organization.manage_members"],
        scopes=["clients:read"],
    )
    wide = Role.objects.create(
        name="Wide manager",
        permissions=["organization.view_organization", "organization.manage_members"],
        scopes=["*"],
    )
    owner = MembershipFactory(role=role("Owner"))
    actor = MembershipFactory(organization=owner.organization, role=narrow)
    assert not services.can_grant_role(actor.user, owner.organization, wide)
    with pytest.raises(ValidationError):
        services.change_role(actor, wide, actor=actor.user)
    with pytest.raises(ValidationError):
        services.add_member(owner.organization, UserFactory(), wide, actor=actor.user)
    assert services.can_grant_role(owner.user, owner.organization, wide)


# --- membership changes ------------------------------------------------------------


def test_removed_member_keys_are_revoked_for_good(api_client):
    owner = MembershipFactory()
    member = MembershipFactory(organization=owner.organization, role=role("Editor"))
    api_key, raw = make_key(
        member.organization, "user", user=member.user, scopes=["products:read"]
    )
    services.remove_member(member, actor=owner.user)
    api_key.refresh_from_db()
    assert api_key.is_revoked
    services.add_member(owner.organization, member.user, role("Editor"), actor=owner.user)
    response = api_client.get(ME, **bearer(raw))
    assert response.json()["code"] == "key_revoked"


def test_membership_moved_to_another_user_drops_cached_key(
    api_client, settings, django_capture_on_commit_callbacks
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}
    owner = MembershipFactory()
    member = MembershipFactory(organization=owner.organization, role=role("Editor"))
    _, raw = make_key(member.organization, "user", user=member.user, scopes=["products:read"])
    assert api_client.get(ME, **bearer(raw)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.get(pk=member.pk)  # as the admin inline does
        member.user = UserFactory()
        member.save()
    response = api_client.get(ME, **bearer(raw))
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")


# --- rolling -------------------------------------------------------------------------


def test_roll_keeps_the_lifetime_and_happens_once():
    api_key, _ = make_key(expires_at=timezone.now() + datetime.timedelta(days=7))
    new, _ = services.roll_key(api_key)
    lifetime = new.expires_at - new.created_at
    assert datetime.timedelta(days=6, hours=23) < lifetime <= datetime.timedelta(days=7)
    with pytest.raises(ValidationError) as exc:
        services.roll_key(api_key)
    assert exc.value.code == "already_rolled"
    services.roll_key(new)  # the replacement rolls
    forever, _ = make_key(api_key.organization, name="forever")
    assert services.roll_key(forever)[0].expires_at is None


# --- raw keys in error reports ------------------------------------------------------------


def _error_report(request):
    """Fail a lookup and render the error report, as an error e-mail would
    (the caller's frame, which holds the raw key, is not part of it)."""
    from rest_framework.request import Request

    with mock.patch(
        "django_apikeys.services.resolution._load_key", side_effect=RuntimeError("db gone")
    ):
        try:
            APIKeyAuthentication().authenticate(Request(request))
        except RuntimeError:
            exc_info = sys.exc_info()
    reporter = ExceptionReporter(request, *exc_info)
    return reporter.get_traceback_html() + reporter.get_traceback_text()


def test_raw_key_is_not_in_error_reports():
    _, raw = make_key()
    for headers in (bearer(raw), {"HTTP_X_API_KEY": raw}):
        report = _error_report(RequestFactory().get(ME, **headers))
        assert "db gone" in report and "resolve_key" in report
        assert raw.split("_")[1] not in report


# --- tenancy -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", " ", "\x00", "a\x00b", "not a slug!", "x" * 500])
def test_implausible_organization_reference_is_403_not_500(client, value):
    membership = MembershipFactory()
    client.force_login(membership.user)
    response = client.get("/api/v1/clients", HTTP_X_ORGANIZATION=value)
    assert response.status_code == 403
    assert response.json()["code"] == "organization_mismatch"


def test_nul_in_url_organization_is_not_a_500(client):
    membership = MembershipFactory()
    client.force_login(membership.user)
    response = client.get("/api/v1/orgs/%00/invoices")
    assert response.status_code in (403, 404)


class PlainOrgView(APIView):
    """A view that filters by the URL's organization but lists no IDOR guard."""

    def get(self, request, org_id):
        return Response({"org": org_id})


urlpatterns = [path("plain/<str:org_id>/", PlainOrgView.as_view())]


@pytest.mark.urls(__name__)
def test_url_organization_is_checked_for_every_view(api_client):
    api_key, raw = make_key()
    mine = api_client.get(f"/plain/{api_key.organization.pk}/", **bearer(raw))
    assert mine.status_code == 200
    theirs = api_client.get(f"/plain/{OrganizationFactory().pk}/", **bearer(raw))
    assert (theirs.status_code, theirs.json()["code"]) == (403, "organization_mismatch")


def test_session_user_organization_on_me(client):
    membership = MembershipFactory()
    client.force_login(membership.user)
    response = client.get(ME, HTTP_X_ORGANIZATION=membership.organization.slug)
    assert response.json()["organization"] == str(membership.organization.pk)


# --- allowed origins ------------------------------------------------------------------------


def test_allowed_origins(api_client):
    api_key, raw = make_key(
        key_type="publishable", scopes=["assess"], allowed_origins=["HTTPS://Shop.Example/"]
    )
    assert api_key.allowed_origins == ["https://shop.example"]
    other, _ = make_key(
        api_key.organization,
        "publishable",
        scopes=["assess"],
        allowed_origins=["https://shop.example:443", "http://localhost:80", "http://a.b:8080"],
    )
    assert other.allowed_origins == ["http://a.b:8080", "http://localhost", "https://shop.example"]
    ok = api_client.get(ME, HTTP_ORIGIN="https://shop.example", **bearer(raw))
    assert ok.status_code == 200
    for headers in ({"HTTP_ORIGIN": "https://evil.example"}, {}):
        response = api_client.get(ME, **headers, **bearer(raw))
        assert (response.status_code, response.json()["code"]) == (403, "origin_not_allowed")
    _, unrestricted = make_key(api_key.organization, "publishable", scopes=["assess"])
    assert api_client.get(ME, **bearer(unrestricted)).status_code == 200


@pytest.mark.parametrize(
    "origin", ["shop.example", "ftp://shop.example", "https://shop.example/path", "https://a b"]
)
def test_bad_origins_are_refused(origin):
    with pytest.raises(ValidationError) as exc:
        make_key(key_type="publishable", scopes=["assess"], allowed_origins=[origin])
    assert exc.value.error_dict["allowed_origins"][0].code == "invalid_origin"


# --- defaults and extension points -------------------------------------------------------------


def test_publishable_keys_get_no_scopes_unless_asked():
    api_key, _ = make_key(key_type="publishable")
    assert api_key.scopes == []


def test_authentication_model_attribute_is_used():
    _, raw = make_key()

    class Custom(APIKeyAuthentication):
        model = APIKey

    from rest_framework.request import Request

    with mock.patch("django_apikeys.services.resolve_key", wraps=services.resolve_key) as spy:
        Custom().authenticate(Request(RequestFactory().get(ME, **bearer(raw))))
    assert spy.call_args.args[1] is APIKey
