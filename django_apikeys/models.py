"""Concrete models. Extend by subclassing the bases in ``abstract.py``."""

from __future__ import annotations

from typing import ClassVar

from .abstract import (
    AbstractAPIKey,
    AbstractAuditEvent,
    AbstractInvitation,
    AbstractMembership,
    AbstractOrganization,
    AbstractPlan,
    AbstractPlaygroundGrant,
    AbstractRole,
    AbstractUsageRecord,
)
from .managers import APIKeyManager, MembershipQuerySet

__all__ = [
    "APIKey",
    "AuditEvent",
    "Invitation",
    "Membership",
    "Organization",
    "Plan",
    "PlaygroundGrant",
    "Role",
    "UsageRecord",
]


class Plan(AbstractPlan):
    class Meta(AbstractPlan.Meta):
        pass


class Organization(AbstractOrganization):
    class Meta(AbstractOrganization.Meta):
        pass


class Role(AbstractRole):
    class Meta(AbstractRole.Meta):
        pass


class Membership(AbstractMembership):
    objects: ClassVar[MembershipQuerySet] = MembershipQuerySet.as_manager()  # type: ignore[assignment]

    class Meta(AbstractMembership.Meta):
        pass


class APIKey(AbstractAPIKey):
    objects: ClassVar[APIKeyManager] = APIKeyManager()

    class Meta(AbstractAPIKey.Meta):
        pass


class UsageRecord(AbstractUsageRecord):
    class Meta(AbstractUsageRecord.Meta):
        pass


class AuditEvent(AbstractAuditEvent):
    class Meta(AbstractAuditEvent.Meta):
        pass


class PlaygroundGrant(AbstractPlaygroundGrant):
    class Meta(AbstractPlaygroundGrant.Meta):
        pass


class Invitation(AbstractInvitation):
    class Meta(AbstractInvitation.Meta):
        pass
