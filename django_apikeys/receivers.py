"""Keep the key-lookup cache honest: any saved or deleted key, membership,
user, role, plan or organization drops the cached lookups it could affect,
once the change commits. And a removed member's user keys are revoked, so
that adding the user back does not bring old keys back to life."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from . import cache
from .conf import apikeys_settings
from .models import APIKey, Membership, Organization, Plan, Role


@receiver([post_save, post_delete], sender=APIKey, dispatch_uid="apikeys_key_changed")
def key_changed(sender: Any, instance: APIKey, created: bool = False, **kwargs: Any) -> None:
    if not created:  # a new key cannot be cached yet
        cache.record_invalidation([instance.hashed_key])


def _invalidate_user_keys(user_id: Any, organization_id: Any = None) -> None:
    if not apikeys_settings.KEY_CACHE_TIMEOUT or user_id is None:
        return
    keys = APIKey.objects.filter(user_id=user_id)
    if organization_id is not None:
        keys = keys.filter(organization_id=organization_id)
    cache.record_invalidation(keys.values_list("hashed_key", flat=True))


@receiver(pre_save, sender=Membership, dispatch_uid="apikeys_member_moving")
def membership_moving(sender: Any, instance: Membership, raw: bool = False, **kwargs: Any) -> None:
    """A membership whose user or organization is edited (the admin inline
    allows it) removes the old member: forget their cached keys too."""
    if raw or instance.pk is None or not apikeys_settings.KEY_CACHE_TIMEOUT:
        return
    before = (
        Membership.objects.filter(pk=instance.pk).values_list("user_id", "organization_id").first()
    )
    if before is not None and before != (instance.user_id, instance.organization_id):
        _invalidate_user_keys(*before)


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="apikeys_member_changed")
def membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    _invalidate_user_keys(instance.user_id, instance.organization_id)


@receiver(post_delete, sender=Membership, dispatch_uid="apikeys_member_removed")
def membership_removed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    APIKey.objects.filter(
        user_id=instance.user_id,
        organization_id=instance.organization_id,
        is_active=True,
        revoked_at__isnull=True,
    ).update(is_active=False, revoked_at=timezone.now())


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="apikeys_user_changed")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="apikeys_user_deleted")
def user_changed(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """A deactivated (or otherwise edited) user's cached keys are dropped.
    A login only touches ``last_login``: nothing a key depends on."""
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    _invalidate_user_keys(instance.pk)


@receiver([post_save, post_delete], sender=Role, dispatch_uid="apikeys_role_changed")
@receiver([post_save, post_delete], sender=Plan, dispatch_uid="apikeys_plan_changed")
@receiver([post_save], sender=Organization, dispatch_uid="apikeys_org_changed")
def grants_changed(sender: Any, **kwargs: Any) -> None:
    cache.record_invalidation(None)
