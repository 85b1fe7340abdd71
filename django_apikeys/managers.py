"""Managers and querysets. Key lifecycle lives in ``services``; these delegate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from .abstract import AbstractAPIKey, AbstractMembership

if TYPE_CHECKING:
    from .models import APIKey


class APIKeyQuerySet(models.QuerySet[AbstractAPIKey]):
    def active(self) -> APIKeyQuerySet:
        """Keys that authenticate now: active, not revoked, not expired."""
        now = timezone.now()
        return self.filter(is_active=True, revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def revoked(self) -> APIKeyQuerySet:
        return self.filter(models.Q(is_active=False) | models.Q(revoked_at__isnull=False))


class APIKeyManager(models.Manager.from_queryset(APIKeyQuerySet)):  # type: ignore[misc]
    def create_key(self, **kwargs: Any) -> tuple[APIKey, str]:
        """Create a key and return ``(api_key, raw_key)``; the raw key is shown once.

        Takes the arguments of :func:`django_apikeys.services.create_key`; the
        key is created in this manager's model.
        """
        # Imported here: services import the models, which import this module.
        from . import services

        kwargs.setdefault("model", self.model)
        return services.create_key(**kwargs)


class MembershipQuerySet(models.QuerySet[AbstractMembership]):
    def for_user(self, user: Any) -> MembershipQuerySet:
        if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
            return self.none()
        return self.filter(user=user)
