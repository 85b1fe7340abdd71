"""Keep authorizations honest: a removed member's authorizations in that
organization are revoked, as are all of a deleted organization's (those made
in it and those of its apps); a purged organization's apps go with it; any
membership, user, or authorization change drops their cached lookups on
commit (role edits bump the core's cache generation, which covers these
entries too)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from oauth2_provider.models import get_application_model

from django_apikeys import signals
from django_apikeys.models import Membership, Organization

from . import services
from .models import OAuthApp, OAuthGrant


@receiver(post_delete, sender=Membership, dispatch_uid="apikeys_oauth_member_removed")
def member_removed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    services.revoke_grants(
        OAuthGrant.objects.filter(
            user_id=instance.user_id, organization_id=instance.organization_id
        ),
        reason=OAuthGrant.RevokedReason.MEMBER_REMOVED,
    )


@receiver(signals.organization_deleted, dispatch_uid="apikeys_oauth_organization_deleted")
def organization_deleted(sender: Any, organization: Any, actor: Any = None, **kwargs: Any) -> None:
    services.revoke_grants(
        services.grants_of_organization(organization.pk),
        reason=OAuthGrant.RevokedReason.ORGANIZATION_DELETED,
        actor=actor,
        audit=False,
    )


@receiver(post_save, sender=Organization, dispatch_uid="apikeys_oauth_organization_saved")
def organization_saved(
    sender: Any, instance: Organization, raw: bool = False, **kwargs: Any
) -> None:
    """An organization deactivated by a saved field (the admin's way, not
    :func:`~django_apikeys.services.delete_organization`) loses its
    authorizations too, those of its apps included."""
    if raw or instance.deactivated_at is None:
        return
    services.revoke_grants(
        services.grants_of_organization(instance.pk),
        reason=OAuthGrant.RevokedReason.ORGANIZATION_DELETED,
        audit=False,
    )


@receiver(post_delete, sender=OAuthApp, dispatch_uid="apikeys_oauth_app_removed")
def app_removed(sender: Any, instance: OAuthApp, **kwargs: Any) -> None:
    """An app deleted with its organization (the purge's cascade) takes the
    client application with it: no client id outlives its organization."""
    Application = get_application_model()
    Application.objects.filter(pk=instance.application_id).delete()


@receiver(post_save, sender=Membership, dispatch_uid="apikeys_oauth_member_changed")
def member_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    _invalidate(user_id=instance.user_id, organization_id=instance.organization_id)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="apikeys_oauth_user_changed")
def user_changed(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    _invalidate(user_id=instance.pk)


@receiver([post_save, post_delete], sender=OAuthGrant, dispatch_uid="apikeys_oauth_grant_changed")
def grant_changed(sender: Any, instance: OAuthGrant, **kwargs: Any) -> None:
    services.invalidate_cached([instance.pk])


def _invalidate(**filters: Any) -> None:
    from django_apikeys.conf import apikeys_settings

    if not apikeys_settings.KEY_CACHE_TIMEOUT:
        return
    services.invalidate_cached(OAuthGrant.objects.filter(**filters).values_list("pk", flat=True))
