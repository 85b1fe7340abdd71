"""OAuth apps registered by an organization, and the authorizations users grant them.

* :class:`OAuthApp` adds to django-oauth-toolkit's ``Application`` (which
  holds the client id, the hashed client secret, the redirect URIs and the
  client type) what this app needs: the registering organization and the
  scopes the app may ask for. One-to-one, so DOT's own model is not swapped.
* :class:`OAuthGrant` is one authorization: created when the user approves
  the consent page (with the organization they picked and the scopes
  granted), it is the **token family**: every access token carries its id
  (claim ``grant``), and every refresh token of the chain has it as DOT's
  ``token_family``. Revoking it kills them all, checked on every request.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings


class OAuthApp(models.Model):
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        verbose_name=_("client application"),
        on_delete=models.CASCADE,
        related_name="apikeys_app",
    )
    organization = models.ForeignKey(
        "django_apikeys.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="oauth_apps",
    )
    scopes = models.JSONField(_("scopes the app may request"), default=list)
    description = models.CharField(_("description"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    secret_rolled_at = models.DateTimeField(_("secret rolled"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("OAuth app")
        verbose_name_plural = _("OAuth apps")

    def __str__(self) -> str:
        return str(self.application.name)


class OAuthGrant(models.Model):
    """One user's authorization of one app in one organization (a token family)."""

    class RevokedReason(models.TextChoices):
        USER = "user", _("Revoked by the user")
        ADMIN = "admin", _("Revoked by an organization admin")
        MEMBER_REMOVED = "member_removed", _("The user left the organization")
        REFRESH_REUSE = "refresh_reuse", _("A rotated refresh token was used again")
        CODE_REPLAY = "code_replay", _("The authorization code was used again")
        TOKEN_REVOKED = "token_revoked", _("A token was revoked (RFC 7009)")
        APP_DELETED = "app_deleted", _("The app was deleted")
        ORGANIZATION_DELETED = "organization_deleted", _("The organization was deleted")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        verbose_name=_("client application"),
        on_delete=models.CASCADE,
        related_name="apikeys_grants",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="oauth_grants",
    )
    organization = models.ForeignKey(
        "django_apikeys.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="oauth_grants",
    )
    scopes = models.JSONField(_("granted scopes"), default=list)
    #: SHA-256 of the authorization code (never the code): detects its replay.
    code_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("authorized"), default=timezone.now)
    exchanged_at = models.DateTimeField(_("code exchanged"), null=True, blank=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_reason = models.CharField(
        _("revocation reason"), max_length=32, choices=RevokedReason.choices, blank=True
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("OAuth authorization")
        verbose_name_plural = _("OAuth authorizations")
        indexes = [
            models.Index(fields=["user", "organization"], name="apikeys_oauth_user_org"),
            models.Index(fields=["organization", "application"], name="apikeys_oauth_org_app"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} for user {self.user_id} in {self.organization_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
