"""Concrete models. Extend by subclassing the bases in ``abstract.py``."""

from __future__ import annotations

from typing import ClassVar

from django.apps import apps

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
    key_organization_field,
    key_owner_field,
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
    "key_models",
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
    # The abstract base names reverse accessors per app and class, so that a
    # key model of your own cannot clash with this one; this model keeps the
    # short names it has always had (``organization.api_keys``,
    # ``user.apikeys_owned``).
    organization = key_organization_field("api_keys")
    user = key_owner_field("apikeys_owned")

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


def key_models() -> list[type[AbstractAPIKey]]:
    """Every installed concrete key model: :class:`APIKey` first, then any
    subclass of :class:`~django_apikeys.abstract.AbstractAPIKey` in other apps.

    Receivers are connected to each, and membership changes revoke or forget
    the keys of each.
    """
    found = [m for m in apps.get_models() if issubclass(m, AbstractAPIKey) and m is not APIKey]
    return [APIKey, *found]
