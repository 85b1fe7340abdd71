"""Helpers the lifecycle services share: memberships, audit events, errors, signals."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from ..models import AuditEvent, Membership, Organization


def membership_for(user: Any, organization: Organization | Any) -> Membership | None:
    """The user's membership in ``organization`` (with its role), or ``None``."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return None
    org_id = getattr(organization, "pk", organization)
    return (
        Membership.objects.select_related("role")
        .filter(user_id=user.pk, organization_id=org_id)
        .first()
    )


def audit(
    organization: Organization,
    action: Any,  # an AuditEvent.Action member
    target: models.Model,
    *,
    actor: Any = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) and actor.pk else None
    return AuditEvent.objects.create(
        organization=organization,
        actor_id=actor_id,
        action=action,
        target_type=target._meta.model_name or "",
        target_id=str(target.pk),
        target_repr=str(target)[:255],
        ip_address=ip_address or None,
        details=details or {},
    )


def invalid(field: str | None, message: Any, code: str) -> ValidationError:
    """A ``ValidationError`` whose code survives being attached to a form field."""
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error


def send_on_commit(signal: Any, **kwargs: Any) -> None:
    """Send ``signal`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: signal.send(**kwargs))


def allowed_scopes_for(user: Any, organization: Organization) -> list[str] | None:
    """The scopes ``user`` may put on a key in ``organization``.

    ``None`` means no ceiling (superusers, or no user: code and commands).
    An empty list means none: the user is not a member.
    """
    if user is None or getattr(user, "is_superuser", False):
        return None
    membership = membership_for(user, organization)
    return list(membership.role.scopes) if membership else []
