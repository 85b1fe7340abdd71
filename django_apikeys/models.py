"""Concrete models. Extend by subclassing the bases in ``abstract.py``."""

from __future__ import annotations

from typing import ClassVar

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .abstract import (
    AbstractAPIKey,
    AbstractAuditEvent,
    AbstractExpiryReminder,
    AbstractInvitation,
    AbstractMembership,
    AbstractOrganization,
    AbstractPlan,
    AbstractPlaygroundGrant,
    AbstractRole,
    AbstractUsageOutcome,
    AbstractUsageRecord,
    key_organization_field,
    key_owner_field,
)
from .managers import APIKeyManager, MembershipQuerySet

__all__ = [
    "APIKey",
    "AuditEvent",
    "CacheInvalidation",
    "FormTokenUse",
    "ExpiryReminder",
    "Invitation",
    "Membership",
    "Organization",
    "Plan",
    "PlaygroundGrant",
    "Role",
    "UsageOutcome",
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


class UsageOutcome(AbstractUsageOutcome):
    class Meta(AbstractUsageOutcome.Meta):
        pass


class AuditEvent(AbstractAuditEvent):
    class Meta(AbstractAuditEvent.Meta):
        pass


class PlaygroundGrant(AbstractPlaygroundGrant):
    class Meta(AbstractPlaygroundGrant.Meta):
        pass


class ExpiryReminder(AbstractExpiryReminder):
    class Meta(AbstractExpiryReminder.Meta):
        pass


class Invitation(AbstractInvitation):
    class Meta(AbstractInvitation.Meta):
        pass


class CacheInvalidation(models.Model):
    """The invalidation outbox of the key-lookup cache (see :mod:`django_apikeys.cache`).

    One row per change that could make a cached key wrong, written in the
    same transaction as the change. Every process reads the outbox's mark
    (highest id and row count) at most once per ``cache.OUTBOX_POLL_INTERVAL``
    and puts it in its cache keys, so entries cached before a change are
    never read again once the change is visible, whatever the cache missed
    (an invalidation that failed, a cache restored from an old snapshot).
    Rows are pruned after ``cache.OUTBOX_RETENTION`` seconds.
    """

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    #: SHA-256 hashes of the affected keys; empty: every key (a role or plan change).
    hashed_keys = models.JSONField(_("hashed keys"), default=list, blank=True)

    class Meta:
        verbose_name = _("cache invalidation")
        verbose_name_plural = _("cache invalidations")

    def __str__(self) -> str:
        return f"#{self.pk} ({len(self.hashed_keys) or 'all'})"


class FormTokenUse(models.Model):
    """A dashboard one-time form token, claimed by the POST that used it.

    The unique ``digest`` (SHA-256 of the token, never the token) makes the
    claim atomic on every database: of two simultaneous POSTs with one token,
    exactly one inserts the row (see ``dashboard.mixins.FormTokenMixin``).
    """

    digest = models.CharField(_("digest"), max_length=64, unique=True)
    used_at = models.DateTimeField(_("used"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("used form token")
        verbose_name_plural = _("used form tokens")

    def __str__(self) -> str:
        return self.digest[:12]


def key_models() -> list[type[AbstractAPIKey]]:
    """Every installed concrete key model: :class:`APIKey` first, then any
    subclass of :class:`~django_apikeys.abstract.AbstractAPIKey` in other apps.

    Receivers are connected to each, and membership changes revoke or forget
    the keys of each.
    """
    found = [m for m in apps.get_models() if issubclass(m, AbstractAPIKey) and m is not APIKey]
    return [APIKey, *found]
