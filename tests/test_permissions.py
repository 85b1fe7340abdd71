"""Permission classes driven by view attributes; the role matrix; read-only keys."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from django_apikeys.abstract import ORGANIZATION_PERMISSIONS
from django_apikeys.authentication import APIKeyAuthentication
from django_apikeys.permissions import (
    HasEntitlement,
    HasKeyType,
    HasOrganizationPermission,
    HasScopes,
    OrganizationMatchesURL,
)
from tests.factories import MembershipFactory, OrganizationFactory, PlanFactory, make_key, role

pytestmark = pytest.mark.django_db
factory = APIRequestFactory()


class Ok(APIView):
    def get(self, request, **kwargs):
        return Response({"ok": True})

    post = get


def view(*permissions, **attrs):
    cls = type("V", (Ok,), {"permission_classes": [IsAuthenticated, *permissions], **attrs})
    return cls.as_view()


def call(v, raw=None, method="get", headers=None, user=None, **kwargs):
    extra = dict(headers or {})
    if raw:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    request = getattr(factory, method)("/x", **extra)
    if user is not None:
        force_authenticate(request, user=user)
    response = v(request, **kwargs)
    response.render()
    return response


def code(response):
    return response.status_code, response.data.get("code")


# --- HasScopes ---------------------------------------------------------------


def test_required_scopes_all_needed():
    v = view(HasScopes, required_scopes=["clients:read", "invoices:read"])
    _, raw = make_key(scopes=["clients:read"])
    response = call(v, raw)
    assert code(response) == (403, "insufficient_scope")
    assert response.data["required_scopes"] == ["invoices:read"]
    assert response.data["type"] == "ForbiddenError"
    assert "invoices:read" in response.data["detail"]
    _, raw = make_key(scopes=["clients:read", "invoices:read"])
    assert call(v, raw).status_code == 200


def test_required_scopes_accept_action_first_spelling():
    v = view(HasScopes, required_scopes=["read:clients"])
    _, raw = make_key(scopes=["clients:read"])
    assert call(v, raw).status_code == 200
    _, raw = make_key(scopes=["read:clients"])  # normalised on save
    assert call(v, raw).status_code == 200


@pytest.mark.parametrize(
    ("scopes", "method", "status"),
    [
        (["clients:read"], "get", 200),
        (["clients:read"], "post", 403),
        (["clients:write"], "post", 200),
        (["clients:write"], "get", 403),
        (["clients:*"], "post", 200),
        (["*"], "post", 200),
        (["invoices:*"], "get", 403),
        ([], "get", 403),
    ],
)
def test_scope_resource(scopes, method, status):
    v = view(HasScopes, scope_resource="clients")
    _, raw = make_key(scopes=scopes)
    assert call(v, raw, method).status_code == status


def test_view_without_scopes_is_misconfigured():
    _, raw = make_key()
    with pytest.raises(ImproperlyConfigured):
        call(view(HasScopes), raw)


def test_user_key_scopes_are_intersected_with_role_now():
    membership = MembershipFactory(role=role("Editor"))  # Editor: offers:*, products:*
    owner = MembershipFactory(organization=membership.organization)
    _, raw = make_key(
        membership.organization, "user", user=membership.user, scopes=["products:read"]
    )
    products = view(HasScopes, required_scopes=["products:read"])
    assert call(products, raw).status_code == 200
    # The role changes: the very next request sees it.
    from django_apikeys import services

    services.change_role(membership, role("Billing"), actor=owner.user)
    assert code(call(products, raw)) == (403, "insufficient_scope")


def test_user_key_cannot_exceed_role_even_if_key_says_star():
    membership = MembershipFactory(role=role("Owner"))
    _, raw = make_key(membership.organization, "user", user=membership.user, scopes=["*"])
    from django_apikeys.models import Role

    Role.objects.filter(name="Owner").update(scopes=["clients:read"])
    v = view(HasScopes, required_scopes=["invoices:read"])
    assert code(call(v, raw)) == (403, "insufficient_scope")


def test_session_user_scopes_come_from_role_in_named_org():
    membership = MembershipFactory(role=role("Editor"))
    org = membership.organization
    v = view(HasScopes, required_scopes=["products:read"])
    header = {"HTTP_X_ORGANIZATION": str(org.pk)}
    assert call(v, user=membership.user, headers=header).status_code == 200
    assert code(
        call(
            view(HasScopes, required_scopes=["billing:read"]), user=membership.user, headers=header
        )
    ) == (403, "insufficient_scope")
    # No organization named: no role, no scopes.
    assert code(call(v, user=membership.user)) == (403, "insufficient_scope")
    # Someone else's organization.
    other = OrganizationFactory()
    response = call(v, user=membership.user, headers={"HTTP_X_ORGANIZATION": other.slug})
    assert code(response) == (403, "organization_mismatch")


def test_unauthenticated_is_401_not_403():
    v = view(HasScopes, required_scopes=["clients:read"])
    response = call(v)
    assert code(response) == (401, "not_authenticated")


# --- HasKeyType ----------------------------------------------------------------


def test_wrong_key_type():
    v = view(HasKeyType, allowed_key_types=["server"])
    _, raw = make_key(key_type="publishable")
    response = call(v, raw)
    assert code(response) == (403, "wrong_key_type")
    assert response.data["type"] == "ForbiddenError"
    _, raw = make_key(key_type="server")
    assert call(v, raw).status_code == 200


def test_key_type_session_opt_in():
    membership = MembershipFactory()
    assert code(call(view(HasKeyType, allowed_key_types=["server"]), user=membership.user)) == (
        403,
        "wrong_key_type",
    )
    v = view(HasKeyType, allowed_key_types=["server", "session"])
    assert call(v, user=membership.user).status_code == 200


def test_key_type_view_must_name_types():
    _, raw = make_key()
    with pytest.raises(ImproperlyConfigured):
        call(view(HasKeyType), raw)


# --- OrganizationMatchesURL ------------------------------------------------------


@pytest.mark.parametrize("kwarg", ["org_id", "organization_id", "org_slug"])
def test_organization_in_url_must_match(kwarg):
    api_key, raw = make_key()
    org = api_key.organization
    other = OrganizationFactory()
    v = view(OrganizationMatchesURL)
    mine = org.slug if kwarg == "org_slug" else str(org.pk)
    theirs = other.slug if kwarg == "org_slug" else str(other.pk)
    assert call(v, raw, **{kwarg: mine}).status_code == 200
    response = call(v, raw, **{kwarg: theirs})
    assert code(response) == (403, "organization_mismatch")
    assert call(v, raw, **{kwarg: "not-a-thing"}).status_code == 403


def test_organization_slug_or_uuid_in_any_kwarg():
    api_key, raw = make_key()
    v = view(OrganizationMatchesURL)
    assert call(v, raw, org_id=api_key.organization.slug).status_code == 200
    assert call(v, raw, org_id=str(api_key.organization.pk).upper()).status_code == 200


def test_session_user_must_be_member_of_url_org():
    membership = MembershipFactory()
    v = view(OrganizationMatchesURL)
    assert call(v, user=membership.user, org_id=str(membership.organization.pk)).status_code == 200
    other = OrganizationFactory()
    assert code(call(v, user=membership.user, org_id=str(other.pk))) == (
        403,
        "organization_mismatch",
    )


def test_url_kwarg_names_are_configurable(settings):
    settings.APIKEYS = {"URL_ORGANIZATION_KWARGS": ["tenant"]}
    api_key, raw = make_key()
    v = view(OrganizationMatchesURL)
    assert code(call(v, raw, tenant=str(OrganizationFactory().pk))) == (
        403,
        "organization_mismatch",
    )
    with pytest.raises(ImproperlyConfigured):
        call(v, raw, org_id=str(api_key.organization.pk))


# --- HasOrganizationPermission: the 4 roles x 6 permissions matrix ------------------

MATRIX = {
    "Owner": set(ORGANIZATION_PERMISSIONS),
    "Manager": set(ORGANIZATION_PERMISSIONS) - {"organization.delete_organization"},
    "Billing": {
        "organization.view_organization",
        "organization.manage_billing",
        "organization.manage_own_api_keys",
    },
    "Editor": {
        "organization.view_organization",
        "organization.contribute_organization",
        "organization.manage_own_api_keys",
    },
}


@pytest.mark.parametrize("role_name", list(MATRIX))
@pytest.mark.parametrize("permission", list(ORGANIZATION_PERMISSIONS))
def test_role_matrix(role_name, permission):
    membership = MembershipFactory(role=role(role_name))
    org = membership.organization
    allowed = permission in MATRIX[role_name]
    # Django's permission API, through the backend
    assert membership.user.has_perm(permission, org) is allowed
    # a session user on a view
    v = view(OrganizationMatchesURL, HasOrganizationPermission, required_permission=permission)
    response = call(v, user=membership.user, org_id=str(org.pk))
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert response.data["code"] == "permission_denied"
    # a user key of that member
    _, raw = make_key(org, "user", user=membership.user)
    assert call(v, raw, org_id=str(org.pk)).status_code == (200 if allowed else 403)


def test_roles_are_per_organization():
    owner_here = MembershipFactory(role=role("Owner"))
    editor_there = MembershipFactory(user=owner_here.user, role=role("Editor"))
    user = owner_here.user
    assert user.has_perm("organization.manage_api_keys", owner_here.organization)
    assert not user.has_perm("organization.manage_api_keys", editor_there.organization)
    assert not user.has_perm("organization.manage_api_keys", OrganizationFactory())
    assert not user.has_perm("organization.manage_api_keys")  # no object, no answer
    assert not user.has_perm("organization.unknown", owner_here.organization)


def test_organization_keys_have_no_role():
    api_key, raw = make_key()
    v = view(HasOrganizationPermission, required_permission="organization.view_organization")
    assert code(call(v, raw)) == (403, "permission_denied")


def test_role_permission_view_must_name_permission():
    _, raw = make_key()
    with pytest.raises(ImproperlyConfigured):
        call(view(HasOrganizationPermission), raw)


# --- HasEntitlement -----------------------------------------------------------------


def test_entitlement():
    v = view(HasEntitlement, required_entitlement="reports")
    api_key, raw = make_key()
    response = call(v, raw)
    assert code(response) == (403, "not_entitled")
    assert response.data["type"] == "NotEntitledError"
    org = api_key.organization
    org.plan = PlanFactory(entitlements=["exports"])
    org.save()
    assert code(call(v, raw)) == (403, "not_entitled")
    org.plan = PlanFactory(entitlements=["reports"])
    org.save()
    assert call(v, raw).status_code == 200
    org.plan = PlanFactory(entitlements=["*"])
    org.save()
    assert call(v, raw).status_code == 200


def test_entitlement_view_must_name_module():
    _, raw = make_key()
    with pytest.raises(ImproperlyConfigured):
        call(view(HasEntitlement), raw)


# --- read-only key types --------------------------------------------------------------


def test_read_only_key_type(settings):
    settings.APIKEYS = {
        "KEY_TYPES": {
            "live": {"prefix": "sk_live"},
            "test": {"prefix": "sk_test", "read_only": True},
        }
    }
    _, raw = make_key(key_type="test")
    v = view()
    assert call(v, raw, "get").status_code == 200
    response = call(v, raw, "post")
    assert code(response) == (403, "read_only_key")
    assert response.data["type"] == "ForbiddenError"
    _, live = make_key(key_type="live")
    assert call(v, live, "post").status_code == 200


# --- DRF's contract: return False, message and code per request ----------------


def test_refusal_returns_false_with_message_and_code_on_the_request_instance():
    """Never raises; ``message``/``code`` live on the instance DRF made for this
    request, so two requests (or threads) never see each other's refusal."""
    from rest_framework.request import Request

    _, one = make_key(scopes=["x:read"])
    _, other = make_key(scopes=["y:read"])
    class_view = type("V", (Ok,), {"required_scopes": ["x:read", "y:read"]})()
    answers = []
    for raw in (one, other):
        request = Request(
            factory.get("/x", HTTP_AUTHORIZATION=f"Bearer {raw}"),
            authenticators=[APIKeyAuthentication()],
        )
        permission = HasScopes()
        assert permission.has_permission(request, class_view) is False
        answers.append((str(permission.message), permission.code))
    assert answers == [
        ("Forbidden: missing scope(s) y:read.", "insufficient_scope"),
        ("Forbidden: missing scope(s) x:read.", "insufficient_scope"),
    ]
    assert HasScopes.message is None and HasScopes.code is None  # nothing shared


def test_session_user_naming_another_organization_is_refused_not_raised():
    """``get_organization`` raises inside; the class still returns ``False``."""
    member = MembershipFactory(role=role("Owner"))
    stranger = OrganizationFactory()
    v = view(HasOrganizationPermission, required_permission="organization.view_organization")
    response = call(v, user=member.user, headers={"HTTP_X_ORGANIZATION": str(stranger.pk)})
    assert code(response) == (403, "organization_mismatch")
