"""Memberships: who may grant which role; add, change and remove members.

The last-Owner rule (an organization keeps at least one Owner) and the
escalation rule (nobody grants a role with more rights than their own) live
here; the dashboard, the admin and commands ask these functions.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .. import signals
from ..abstract import MANAGE_MEMBERS
from ..conf import apikeys_settings
from ..models import AuditEvent, Membership, Organization, Role, key_models
from ..scopes import outside
from ._common import audit, invalid, membership_for, send_on_commit
from .lifecycle import revoke_key

Action = AuditEvent.Action


def _role_permissions(role: Role) -> set[str]:
    return set(role.permissions)


def _grantable(role: Role, granter_role: Role) -> bool:
    return _role_permissions(role) <= _role_permissions(granter_role) and not outside(
        role.scopes, granter_role.scopes
    )


def can_grant_role(actor: Any, organization: Organization, role: Role) -> bool:
    """An actor may grant only roles whose permissions and scopes they hold themselves.

    A deactivated account grants nothing (not even a superuser's): the rule is
    asked again when a pending invitation is accepted, for its inviter.
    """
    if actor is not None and not getattr(actor, "is_active", True):
        return False
    if getattr(actor, "is_superuser", False):
        return True
    membership = membership_for(actor, organization)
    return membership is not None and _grantable(role, membership.role)


def members_who_can_grant(organization: Organization, permission: str) -> list[Membership]:
    """The members of ``organization`` who can give someone ``permission``.

    They manage members (``organization.manage_members``: the members page
    is where roles change) and may grant (:func:`can_grant_role`) at least
    one role that includes the permission. Only this organization's
    memberships are read. Highest role first.
    """
    roles = list(Role.objects.all())
    with_permission = [role for role in roles if permission in _role_permissions(role)]
    managing = [role for role in roles if MANAGE_MEMBERS in _role_permissions(role)]
    granting = [role.pk for role in managing if any(_grantable(r, role) for r in with_permission)]
    # Roles are few; members may be many: the choice is made on the roles,
    # and one query fetches only the members who qualify.
    return list(
        organization.memberships.filter(
            Q(role_id__in=granting)
            | Q(role_id__in=[role.pk for role in managing], user__is_superuser=True)
        )
        .select_related("user", "role")
        .order_by("-role__rank", "user__username")
    )


def _owner_count(organization: Organization) -> int:
    return Membership.objects.filter(
        organization=organization, role__name=apikeys_settings.OWNER_ROLE
    ).count()


def _lock_owners(organization: Any) -> None:
    """Lock the organization row, then its Owner memberships (in pk order,
    before any other membership row) until the transaction ends: every
    caller takes the locks in this one order (see :func:`_lock_organization`).

    Two Owners demoting or removing each other, or leaving, at the same time
    would otherwise each count two Owners and leave none. Only the
    membership rows are locked (``of=("self",)``), not the shared role row.
    """
    _lock_organization(getattr(organization, "pk", organization))
    list(
        Membership.objects.select_for_update(of=("self",))
        .filter(organization=organization, role__name=apikeys_settings.OWNER_ROLE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def add_member(
    organization: Organization,
    user: Any,
    role: Role,
    *,
    actor: Any = None,
    ip_address: str | None = None,
) -> Membership:
    if actor is not None and not can_grant_role(actor, organization, role):
        raise invalid(
            "role", _("You cannot grant a role with more rights than your own."), "role_too_high"
        )
    with transaction.atomic():
        _lock_organization(organization.pk)
        if Membership.objects.filter(organization=organization, user=user).exists():
            raise invalid("user", _("This user is already a member."), "already_member")
        membership = Membership.objects.create(organization=organization, user=user, role=role)
        audit(
            organization,
            Action.MEMBER_ADDED,
            membership,
            actor=actor,
            ip_address=ip_address,
            details={"user": str(user), "role": role.name},
        )
        send_on_commit(
            signals.membership_changed,
            sender=Membership,
            membership=membership,
            organization=organization,
            user=user,
            action="added",
            actor=actor,
        )
    return membership


def _lock_organization(organization_id: Any) -> None:
    """Lock the organization row before any membership row.

    Every last-Owner decision takes this lock first, so concurrent changes in
    one organization run one after the other and each counts the Owners the
    previous one left. Without it two Owners removing each other each lock
    their own target row, both count two Owners, and PostgreSQL either
    deadlocks (500) or lets both go, leaving none. On SQLite (no row locks)
    an immediate transaction serializes writers the same way.
    """
    list(Organization.objects.select_for_update().filter(pk=organization_id).values_list("pk"))


def _is_last_owner(membership: Membership) -> bool:
    return (
        membership.role.name == apikeys_settings.OWNER_ROLE
        and _owner_count(membership.organization) <= 1
    )


def change_role(
    membership: Membership,
    role: Role,
    *,
    actor: Any = None,
    ip_address: str | None = None,
) -> Membership:
    organization = membership.organization
    if actor is not None and not (
        can_grant_role(actor, organization, role)
        and can_grant_role(actor, organization, membership.role)
    ):
        raise invalid(
            "role", _("You cannot change a role with more rights than your own."), "role_too_high"
        )
    with transaction.atomic():
        _lock_owners(organization)
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("role")
            .get(pk=membership.pk)
        )
        if role.name != apikeys_settings.OWNER_ROLE and _is_last_owner(membership):
            raise invalid("role", _("An organization must keep at least one Owner."), "last_owner")
        old_role = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit(
            organization,
            Action.MEMBER_ROLE_CHANGED,
            membership,
            actor=actor,
            ip_address=ip_address,
            details={"from": old_role.name, "to": role.name},
        )
        send_on_commit(
            signals.membership_changed,
            sender=Membership,
            membership=membership,
            organization=organization,
            user=membership.user,
            action="role_changed",
            actor=actor,
        )
    return membership


def remove_member(
    membership: Membership, *, actor: Any = None, ip_address: str | None = None
) -> None:
    """Remove a member, and revoke their user keys in that organization.

    Each key is revoked by :func:`~django_apikeys.services.revoke_key` (an
    audit event, ``api_key_revoked`` on commit, its cached lookup dropped),
    so adding the user back does not bring old keys back to life. Refused
    (``ValidationError``) for the last Owner, or when ``actor`` could not
    grant the member's role.
    """
    organization = membership.organization
    if actor is not None and not can_grant_role(actor, organization, membership.role):
        raise ValidationError(
            _("You cannot remove a member whose role has more rights than your own."),
            code="role_too_high",
        )
    _end_membership(
        membership,
        Action.MEMBER_REMOVED,
        "removed",
        _("An organization must keep at least one Owner."),
        actor=actor,
        ip_address=ip_address,
    )


def leave_organization(membership: Membership, *, ip_address: str | None = None) -> None:
    """The member of ``membership`` leaves; refused for the last Owner."""
    _end_membership(
        membership,
        Action.MEMBER_LEFT,
        "left",
        _(
            "You are the last Owner: transfer ownership to another member, "
            "or delete the organization, before you leave."
        ),
        actor=membership.user,
        ip_address=ip_address,
    )


def _end_membership(
    membership: Membership,
    action: Any,
    signal_action: str,
    last_owner_message: Any,
    *,
    actor: Any,
    ip_address: str | None,
) -> None:
    organization = membership.organization
    with transaction.atomic():
        _lock_owners(organization)
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("role", "user")
            .get(pk=membership.pk)
        )
        if _is_last_owner(membership):
            raise ValidationError(last_owner_message, code="last_owner")
        audit(
            organization,
            action,
            membership,
            actor=actor,
            ip_address=ip_address,
            details={"user": str(membership.user), "role": membership.role.name},
        )
        user = membership.user
        for model in key_models():
            user_keys = model._default_manager.filter(
                user_id=user.pk,
                organization_id=organization.pk,
                is_active=True,
                revoked_at__isnull=True,
            )
            for api_key in user_keys:
                revoke_key(api_key, actor=actor, ip_address=ip_address)
        membership.delete()
        send_on_commit(
            signals.membership_changed,
            sender=Membership,
            membership=membership,
            organization=organization,
            user=user,
            action=signal_action,
            actor=actor,
        )
