"""Keep the key-lookup cache honest: any saved or deleted key, membership or
role drops the cached lookups it could affect, once the change commits."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import cache
from .models import APIKey, Membership, Organization, Plan, Role


@receiver([post_save, post_delete], sender=APIKey, dispatch_uid="apikeys_key_changed")
def key_changed(sender: Any, instance: APIKey, **kwargs: Any) -> None:
    digest = instance.hashed_key
    transaction.on_commit(lambda: cache.invalidate(digest))


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="apikeys_member_changed")
def membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    digests = list(
        APIKey.objects.filter(
            user_id=instance.user_id, organization_id=instance.organization_id
        ).values_list("hashed_key", flat=True)
    )
    if digests:
        transaction.on_commit(lambda: cache.invalidate_many(digests))


@receiver([post_save, post_delete], sender=Role, dispatch_uid="apikeys_role_changed")
@receiver([post_save, post_delete], sender=Plan, dispatch_uid="apikeys_plan_changed")
@receiver([post_save], sender=Organization, dispatch_uid="apikeys_org_changed")
def grants_changed(sender: Any, **kwargs: Any) -> None:
    transaction.on_commit(cache.invalidate_all)
