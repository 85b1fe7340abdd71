"""What a credential may do in an organization: the rules behind
member-scoped user keys and organization keys with organization permissions.

* :func:`act_in_organization` — the organization a key acts in. A pinned key
  acts in its own; a member-scoped user key (key type ``tenancy = "member"``)
  acts in the organization the request names, if its owner belongs to it, with
  the owner's role *there*, read live on every request.
* :func:`credential_permissions` — the organization permissions a credential
  holds (what ``HasOrganizationPermission`` asks): a user key or token holds
  its owner's live role's; an organization key those of its type's
  ``organization_permissions`` role (``"*"``: all), else none.
* :func:`check_organization_permissions_grantable` — an organization key with
  organization permissions is created only by someone who holds every one of
  them (the same bound as granting a role).
* :func:`manages_own_keys_only` / :func:`manageable_keys` /
  :func:`creatable_key_types` — who manages which keys: a member whose role
  grants ``organization.manage_api_keys`` manages every key of the
  organization; one whose role grants only
  ``organization.manage_own_api_keys`` creates, sees, rolls and revokes their
  own user keys and nothing else (the dashboard and the management API both
  ask these).
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from .. import exceptions
from ..abstract import MANAGE_API_KEYS, MANAGE_OWN_API_KEYS, ORGANIZATION_PERMISSIONS
from ..conf import ALL_PERMISSIONS, KeyType, apikeys_settings
from ..models import Membership, Organization, Role
from ._common import invalid, membership_for

if TYPE_CHECKING:
    from ..abstract import AbstractAPIKey
    from ..credentials import Credential
    from ..tenancy import OrganizationRef

__all__ = [
    "act_in_organization",
    "check_organization_permissions_grantable",
    "creatable_key_types",
    "credential_permissions",
    "manageable_keys",
    "manages_own_keys_only",
    "type_organization_permissions",
]


def act_in_organization(api_key: AbstractAPIKey, ref: OrganizationRef | None) -> AbstractAPIKey:
    """The key as it acts in the organization ``ref`` names (``None``: its own).

    A pinned key, or a reference to the key's own organization: the key
    itself (no query). A member-scoped user key naming another organization:
    one query for the owner's membership there (organization, plan, role);
    the result is a *copy* of the key whose ``organization`` and
    ``member_permissions`` / ``member_scopes`` are that organization's and
    that role's, so that every later stage (IDOR guard, scopes, entitlements,
    limits, metering, analytics) attributes the request to it. The key's own
    organization stays in ``home_organization_id``. The copy must never be
    saved (``AbstractAPIKey.save()`` refuses).

    Raises :class:`~django_apikeys.exceptions.OrganizationMismatch` when the
    key may not act there: pinned, or the owner is not a member (or the
    organization is deactivated).
    """
    organization = api_key.organization
    if ref is None or ref.matches(organization):
        return api_key
    kt = apikeys_settings.key_type(api_key.key_type)
    if kt is None or not kt.member_scoped or api_key.user_id is None or not ref.plausible:
        raise exceptions.OrganizationMismatch()
    memberships = Membership.objects.select_related("organization__plan", "role").filter(
        user_id=api_key.user_id,
        organization__deactivated_at__isnull=True,
        **{f"organization__{name}": value for name, value in ref.lookup().items()},
    )
    # (user, organization) is unique: no ORDER BY needed for the one row.
    membership = next(iter(memberships.order_by()[:1]), None)
    if membership is None:
        raise exceptions.OrganizationMismatch(
            _("The key's owner is not a member of the organization named in the request.")
        )
    acting = copy.copy(api_key)  # Model.__getstate__ copies _state: the original is untouched
    acting.home_organization_id = api_key.organization_id  # type: ignore[attr-defined]
    acting.organization = membership.organization
    acting.member_permissions = list(membership.role.permissions)
    acting.member_scopes = list(membership.role.scopes)
    return acting


def type_organization_permissions(kt: KeyType) -> list[str]:
    """The organization permissions keys of type ``kt`` hold (organization
    keys only): its ``organization_permissions`` role's as the role is now,
    every permission for ``"*"``, none when unset or the role is gone."""
    name = kt.organization_permissions
    if not name or kt.user_owned:
        return []
    if name == ALL_PERMISSIONS:
        return list(ORGANIZATION_PERMISSIONS)
    role = Role.objects.filter(name=name).only("permissions").first()
    return list(role.permissions) if role is not None else []


def credential_permissions(credential: AbstractAPIKey | Credential) -> Sequence[str] | None:
    """The organization permissions ``credential`` holds in the organization
    it acts in, ``None`` for none: a user key's (or token's) owner's live
    role; an organization key's type role (``type_organization_permissions``)."""
    if credential.user_id is not None:
        return getattr(credential, "member_permissions", None)
    kt = apikeys_settings.key_type(credential.key_type)
    if kt is None:
        return None
    return type_organization_permissions(kt) or None


def check_organization_permissions_grantable(
    kt: KeyType, organization: Organization, created_by: Any
) -> None:
    """``ValidationError`` (``permissions_exceed_creator``) when ``created_by``
    may not create a key of type ``kt`` in ``organization``: the type gives
    organization permissions the creator does not hold there. Nobody
    (code, commands) and superusers are not bounded, as for scopes."""
    wanted = type_organization_permissions(kt)
    if not wanted or created_by is None or getattr(created_by, "is_superuser", False):
        return
    membership = membership_for(created_by, organization)
    held = set(membership.role.permissions) if membership is not None else set()
    beyond = [p for p in wanted if p not in held]
    if beyond:
        raise invalid(
            "key_type",
            _("A %(type)s key holds organization permissions you do not: %(permissions)s.")
            % {"type": kt.label, "permissions": ", ".join(beyond)},
            "permissions_exceed_creator",
        )


# --- who manages which keys ---------------------------------------------------

_KeyQuerySet = TypeVar("_KeyQuerySet", bound=QuerySet[Any])


def manages_own_keys_only(permissions: Collection[str]) -> bool:
    """Whether a member holding ``permissions`` manages only their own user
    keys: ``manage_own_api_keys`` without ``manage_api_keys``."""
    return MANAGE_API_KEYS not in permissions and MANAGE_OWN_API_KEYS in permissions


def manageable_keys(keys: _KeyQuerySet, permissions: Collection[str], user: Any) -> _KeyQuerySet:
    """``keys`` (of one organization) narrowed to those a member holding
    ``permissions`` may see and act on: all with ``manage_api_keys``, their
    own user keys with ``manage_own_api_keys`` only, none otherwise."""
    if MANAGE_API_KEYS in permissions:
        return keys
    if MANAGE_OWN_API_KEYS in permissions and getattr(user, "pk", None) is not None:
        return keys.filter(user_id=user.pk)
    return keys.none()


def creatable_key_types(permissions: Collection[str]) -> list[KeyType]:
    """The key types a member holding ``permissions`` may create: every type
    with ``manage_api_keys``; user-owned types (their own keys) with
    ``manage_own_api_keys`` only; none otherwise."""
    types = list(apikeys_settings.key_types.values())
    if MANAGE_API_KEYS in permissions:
        return types
    if MANAGE_OWN_API_KEYS in permissions:
        return [kt for kt in types if kt.user_owned]
    return []
