"""Who may call the management API, and as whom.

Every request acts for a **person** whose live role in the organization
bounds it:

======================  =====================================================
credential              the person behind it
======================  =====================================================
session                 the logged-in user
user key                the key's owner (the key's scopes ∩ the owner's role)
organization key        the key's creator, while an active user and still a
                        member; such a key may not change members and may
                        not create or roll user keys (it would hand out a
                        credential that acts as a person)
other credential        its user, as a user key (an OAuth access token, on
                        a view a site extends to admit ``"oauth"``)
======================  =====================================================

Keys and other credentials also need the management scope of the endpoint
(only session users are bounded by their role alone), and never mint a key
with a scope they do not carry themselves. Publishable key types are never
admitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request

from .. import exceptions, services
from ..conf import apikeys_settings
from ..credentials import Credential
from ..models import APIKey, Membership, Organization
from ..permissions import HasOrganizationPermission, HasScopes

#: The management scopes, by resource: ``<resource>:read`` for GET,
#: ``<resource>:write`` for changes (see ``HasScopes.scope_resource``).
ORGANIZATIONS = "organizations"
API_KEYS = "api_keys"
MEMBERS = "members"
USAGE = "usage"
AUDIT = "audit"

MANAGEMENT_SCOPES = [
    f"{ORGANIZATIONS}:read",
    f"{API_KEYS}:read",
    f"{API_KEYS}:write",
    f"{MEMBERS}:read",
    f"{MEMBERS}:write",
    f"{USAGE}:read",
    f"{AUDIT}:read",
]

#: The role permissions of the dashboard's pages, for the same actions.
VIEW_ORGANIZATION = "organization.view_organization"
MANAGE_API_KEYS = "organization.manage_api_keys"
MANAGE_OWN_API_KEYS = "organization.manage_own_api_keys"
MANAGE_MEMBERS = "organization.manage_members"
MANAGE_BILLING = "organization.manage_billing"

SESSION = "session"


def management_key_types() -> list[str]:
    """Key types that may call the management API: every type that is not
    publishable (safe in a browser means never a management credential),
    plus ``"session"``."""
    types = [name for name, kt in apikeys_settings.key_types.items() if not kt.publishable]
    return [*types, SESSION]


@dataclass(frozen=True)
class Caller:
    """The credential of a management request and the person behind it."""

    api_key: APIKey | None
    person: Any
    membership: Membership | None
    #: Another credential (an OAuth access token): bounded by its scopes like a user key.
    credential: Credential | None = None

    @property
    def is_organization_key(self) -> bool:
        return self.api_key is not None and self.api_key.user_id is None

    @property
    def credential_scopes(self) -> list[str] | None:
        """The scopes of the key or token making the request; ``None`` for a session."""
        if self.api_key is not None:
            return list(self.api_key.scopes)
        if self.credential is not None:
            return list(self.credential.scopes)
        return None

    @property
    def role_permissions(self) -> frozenset[str]:
        return frozenset(self.membership.role.permissions) if self.membership else frozenset()

    def has_permission(self, permission: str) -> bool:
        return permission in self.role_permissions


def person_behind(request: Request) -> Any:
    """The user a management request acts for (``None``: nobody)."""
    api_key = request.auth if isinstance(request.auth, APIKey) else None
    if api_key is None:
        user = request.user
        return user if getattr(user, "is_authenticated", False) else None
    if api_key.user_id is not None:
        return api_key.user
    # An organization key acts for its creator while the creator is an active
    # user (read live: the creator is never part of the cached key); a
    # deactivated or deleted creator leaves it acting for nobody.
    creator = api_key.created_by
    return creator if creator is not None and creator.is_active else None


def caller_for(request: Request, organization: Organization | None) -> Caller:
    """The request's :class:`Caller` in ``organization``, cached on the request."""
    raw = request._request
    cache: dict[Any, Caller] = raw.__dict__.setdefault("_apikeys_callers", {})
    org_id = getattr(organization, "pk", None)
    if org_id not in cache:
        api_key = request.auth if isinstance(request.auth, APIKey) else None
        person = person_behind(request)
        membership = (
            services.membership_for(person, organization) if organization is not None else None
        )
        credential = request.auth if isinstance(request.auth, Credential) else None
        cache[org_id] = Caller(
            api_key=api_key, person=person, membership=membership, credential=credential
        )
    return cache[org_id]


class ManagementScopes(HasScopes):
    """``HasScopes`` for keys and other credentials (OAuth tokens: their scopes
    ∩ the user's role scopes); only session users (no ``request.auth``) are
    bounded by their role alone (:class:`PersonHasOrganizationPermission`).
    A credential this app cannot read scopes from is refused."""

    def allows(self, request: Request, view: Any) -> bool:
        if request.auth is None:
            self.get_required_scopes(request, view)  # still refuse a view that names none
            return bool(request.user and request.user.is_authenticated)
        if not isinstance(request.auth, (APIKey, Credential)):
            return self.refuse(
                request, exceptions.InsufficientScope(self.get_required_scopes(request, view))
            )
        return super().allows(request, view)


class PersonHasOrganizationPermission(HasOrganizationPermission):
    """``HasOrganizationPermission`` for the person behind the credential: the
    session user, a user key's owner, or an organization key's creator (whose
    membership and role are read live on every request)."""

    def allows(self, request: Request, view: Any) -> bool:
        if not (isinstance(request.auth, APIKey) and request.auth.user_id is None):
            return super().allows(request, view)
        required = view.required_permission
        caller = caller_for(request, view.get_organization())
        if caller.membership is None or not caller.has_permission(required):
            return self.refuse(
                request,
                exceptions.OrganizationPermissionDenied(
                    _(
                        "This organization key acts for the person who created it, and that "
                        "person is no longer an active member or their role in the organization "
                        "does not allow this action."
                    )
                ),
            )
        return True


class NoOrganizationKeys(PersonHasOrganizationPermission):
    """Member changes need a person: organization keys are refused on writes."""

    def allows(self, request: Request, view: Any) -> bool:
        if (
            isinstance(request.auth, APIKey)
            and request.auth.user_id is None
            and request.method not in ("GET", "HEAD", "OPTIONS")
        ):
            return self.refuse(
                request,
                exceptions.OrganizationPermissionDenied(
                    _(
                        "Organization keys cannot change members: use the dashboard, a "
                        "session or a user key."
                    )
                ),
            )
        return super().allows(request, view)
