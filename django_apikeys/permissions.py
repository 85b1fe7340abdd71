"""DRF permission classes: tenant resolution, the IDOR guard and authorization
(key type, scopes, role permission, entitlement), driven by view attributes.
The whole pipeline is described once, in ``docs/architecture.rst``.

============================= ============================== =========================
class                         view attribute                 failure (403 code)
============================= ============================== =========================
``HasScopes``                 ``required_scopes`` or         ``insufficient_scope``
                              ``scope_resource``
``HasKeyType``                ``allowed_key_types``          ``wrong_key_type``
``OrganizationMatchesURL``    URL kwarg ``org_id`` & co.     ``organization_mismatch``
``HasOrganizationPermission`` ``required_permission``        ``permission_denied``
``HasEntitlement``            ``required_entitlement``       ``not_entitled``
============================= ============================== =========================

Each class follows DRF's contract: ``has_permission`` returns ``False`` and
sets ``message`` and ``code`` on the instance DRF made for this request
(never raises), so ``|``, ``&`` and ``~`` compose as with any DRF permission.
Used alone, a refusal keeps its code and fields in the body (the refusal is
noted on the request, :func:`django_apikeys.exceptions.note_refusal`, and the
exception handler renders it); inside a composition DRF answers its own
generic 403.

A view that uses a class but names nothing for it raises
``ImproperlyConfigured``: nothing is allowed by omission. An unauthenticated
request fails with 401 (DRF's ``NotAuthenticated``), not 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from . import exceptions
from .abstract import AbstractAPIKey
from .credentials import Credential
from .models import Organization
from .scopes import grants, normalize_scopes
from .services import credential_permissions, membership_for
from .tenancy import organization_for_user, organization_from_header, organization_from_url

__all__ = [
    "APIKeysPermission",
    "HasEntitlement",
    "HasKeyType",
    "HasOrganizationPermission",
    "HasScopes",
    "OrganizationMatchesURL",
    "get_organization",
]

_UNSET = object()


def _authenticated(request: Request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated)


def _api_key(request: Request) -> AbstractAPIKey | Credential | None:
    """The request's credential: a key of whichever concrete key model
    authenticated it, or another :class:`Credential` (an OAuth access token)
    that is treated exactly like a user key."""
    auth = request.auth
    return auth if isinstance(auth, (AbstractAPIKey, Credential)) else None


def _required(view: Any, attr: str, permission: type) -> Any:
    value = getattr(view, attr, None)
    if not value:
        raise ImproperlyConfigured(
            f"{type(view).__name__} uses {permission.__name__} but sets no {attr!r}."
        )
    return value


class APIKeysPermission(BasePermission):
    """Base of this app's permission classes: :meth:`refuse` is how they say no."""

    message: Any = None
    code: str | None = None

    def refuse(self, request: Request, error: exceptions.ForbiddenError) -> bool:
        """Refuse with ``error``: set ``message``/``code`` on this instance (DRF
        makes one per request in ``get_permissions()``, so nothing is shared
        between requests or threads), note the refusal on the request and
        return ``False``."""
        self.message = error.detail
        self.code = error.default_code
        exceptions.note_refusal(request, error)
        return False

    def has_permission(self, request: Request, view: Any) -> bool:
        try:
            return self.allows(request, view)
        except exceptions.ForbiddenError as error:  # e.g. from get_organization()
            return self.refuse(request, error)

    def allows(self, request: Request, view: Any) -> bool:
        """The rule: ``True``, ``False`` (DRF's ``NotAuthenticated`` follows for
        an anonymous request), or ``self.refuse(request, error)``. A
        ``ForbiddenError`` raised by a helper is refused the same way."""
        raise NotImplementedError


def get_organization(request: Request, view: Any = None) -> Organization | None:
    """The organization the request acts on (tenant resolution).

    For API keys: the key's organization (set by the authentication class).
    For session users: the organization named in the URL, else in the
    header, which must be one of theirs (else 403 ``organization_mismatch``).
    The result is cached on the request as ``request.organization``.
    """
    raw = request._request
    organization = getattr(raw, "organization", _UNSET)
    if organization is not _UNSET:
        return organization  # type: ignore[return-value]
    ref = organization_from_url(getattr(view, "kwargs", {}) or {}) or organization_from_header(raw)
    organization = None
    if ref is not None:
        organization = organization_for_user(request.user, ref)
        if organization is None:
            raise exceptions.OrganizationMismatch(
                "You are not a member of the organization named in the request."
            )
    raw.organization = organization  # type: ignore[attr-defined]
    return organization


def _role_for(request: Request, view: Any) -> tuple[list[str], list[str]] | None:
    """(permissions, scopes) of the caller's role now, or ``None`` without one."""
    api_key = _api_key(request)
    if api_key is not None:
        if api_key.user_id is None:
            return None
        permissions = getattr(api_key, "member_permissions", None)
        scopes = getattr(api_key, "member_scopes", None)
        if permissions is None:
            return None
        return list(permissions), list(scopes or [])
    organization = get_organization(request, view)
    if organization is None:
        return None
    cache = request._request.__dict__.setdefault("_apikeys_roles", {})
    if organization.pk not in cache:
        membership = membership_for(request.user, organization)
        cache[organization.pk] = (
            (list(membership.role.permissions), list(membership.role.scopes))
            if membership
            else None
        )
    return cache[organization.pk]


class HasScopes(APIKeysPermission):
    """All of ``view.required_scopes``, or ``<scope_resource>:read``/``:write``.

    User keys (and credentials such as OAuth access tokens) get the
    intersection of their scopes and the owner's role scopes, evaluated on
    every request; session users get their role's.
    """

    def get_required_scopes(self, request: Request, view: Any) -> list[str]:
        required = getattr(view, "required_scopes", None)
        if required:
            return normalize_scopes(required)
        resource = getattr(view, "scope_resource", None)
        if resource:
            action = "read" if request.method in SAFE_METHODS else "write"
            return [f"{resource}:{action}"]
        raise ImproperlyConfigured(
            f"{type(view).__name__} uses HasScopes but sets neither 'required_scopes' "
            "nor 'scope_resource'."
        )

    def allows(self, request: Request, view: Any) -> bool:
        required = self.get_required_scopes(request, view)
        if not _authenticated(request):
            return False
        api_key = _api_key(request)
        grant_sets: list[Sequence[str]] = []
        if api_key is not None:
            grant_sets.append(api_key.scopes)
        role = _role_for(request, view)
        if api_key is None or api_key.user_id is not None:
            grant_sets.append(role[1] if role else [])
        missing = [s for s in required if not all(grants(g, s) for g in grant_sets)]
        if missing:
            return self.refuse(request, exceptions.InsufficientScope(missing))
        return True


class HasKeyType(APIKeysPermission):
    """The API key's type must be in ``view.allowed_key_types``.

    A session passes only if the list names ``"session"``; another
    :class:`~django_apikeys.credentials.Credential` only if it names its kind
    (``"oauth"`` for OAuth access tokens).
    """

    def allows(self, request: Request, view: Any) -> bool:
        allowed = _required(view, "allowed_key_types", HasKeyType)
        if not _authenticated(request):
            return False
        api_key = _api_key(request)
        key_type = api_key.key_type if api_key is not None else "session"
        if key_type not in allowed:
            if api_key is None and request.auth is None:
                # no key was sent: do not talk of one
                return self.refuse(request, exceptions.SessionNotAllowed())
            return self.refuse(request, exceptions.WrongKeyType())
        return True


class OrganizationMatchesURL(APIKeysPermission):
    """IDOR guard: the organization in the URL must be the credential's."""

    def allows(self, request: Request, view: Any) -> bool:
        ref = organization_from_url(getattr(view, "kwargs", {}) or {})
        if ref is None:
            raise ImproperlyConfigured(
                f"{type(view).__name__} uses OrganizationMatchesURL but its URL has none of "
                "the APIKEYS['URL_ORGANIZATION_KWARGS'] arguments."
            )
        if not _authenticated(request):
            return False
        api_key = _api_key(request)
        if api_key is not None:
            if not ref.matches(api_key.organization):
                return self.refuse(request, exceptions.OrganizationMismatch())
            return True
        return get_organization(request, view) is not None


class HasOrganizationPermission(APIKeysPermission):
    """The caller's role in the organization grants ``view.required_permission``.

    For session users and user keys (the owner's live role); organization
    keys hold their type's ``organization_permissions`` (see
    :func:`~django_apikeys.services.credential_permissions`), else none.
    """

    def allows(self, request: Request, view: Any) -> bool:
        required = _required(view, "required_permission", HasOrganizationPermission)
        if not _authenticated(request):
            return False
        api_key = _api_key(request)
        if api_key is not None:
            held = credential_permissions(api_key)
        else:
            role = _role_for(request, view)
            held = role[0] if role is not None else None
        if held is None or required not in held:
            return self.refuse(request, exceptions.OrganizationPermissionDenied())
        return True


class HasEntitlement(APIKeysPermission):
    """The organization's plan includes ``view.required_entitlement``."""

    def allows(self, request: Request, view: Any) -> bool:
        module = _required(view, "required_entitlement", HasEntitlement)
        if not _authenticated(request):
            return False
        organization = get_organization(request, view)
        plan = organization.plan if organization is not None else None
        if plan is None or not plan.includes(module):
            return self.refuse(request, exceptions.NotEntitled())
        return True
