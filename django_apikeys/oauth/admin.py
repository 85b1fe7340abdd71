"""Admin for OAuth apps and authorizations (django-oauth-toolkit registers its own models)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import services
from .models import OAuthApp, OAuthGrant


@admin.register(OAuthApp)
class OAuthAppAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("__str__", "organization", "client_id", "created_at", "created_by")
    list_select_related = ("application", "organization", "created_by")
    search_fields = ("application__name", "application__client_id", "organization__name")
    raw_id_fields = ("application", "organization", "created_by")
    readonly_fields = ("created_at", "secret_rolled_at")

    @admin.display(description=_("client id"))
    def client_id(self, obj: OAuthApp) -> str:
        return str(obj.application.client_id)


@admin.register(OAuthGrant)
class OAuthGrantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("application", "user", "organization", "created_at", "last_used", "revoked_at")
    list_filter = ("revoked_reason",)
    list_select_related = ("application", "user", "organization")
    search_fields = ("application__name", "user__username", "organization__name")
    raw_id_fields = ("application", "user", "organization", "revoked_by")
    readonly_fields = (
        "id",
        "code_hash",
        "created_at",
        "exchanged_at",
        "last_used",
        "revoked_at",
        "revoked_reason",
        "revoked_by",
    )
    exclude = ("code_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Revoke selected authorizations"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = services.revoke_grants(
            queryset, reason=OAuthGrant.RevokedReason.ADMIN, actor=request.user
        )
        self.message_user(request, _("%(n)d revoked.") % {"n": count}, messages.SUCCESS)
