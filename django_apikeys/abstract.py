"""Abstract bases for the app's models; ``models.py`` holds the concrete ones.

Lengths that shape the schema are constants here, not settings.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .conf import apikeys_settings
from .scopes import normalize_scopes

NAME_LENGTH = 100
KEY_TYPE_LENGTH = 32
HINT_LENGTH = 64
HASH_LENGTH = 64  # SHA-256 hex
ENVIRONMENT_LENGTH = 32
EMAIL_LENGTH = 254

# The organization permissions roles grant (the reference table of the
# typed-checksummed-keys product). Code names them through these constants;
# ORGANIZATION_PERMISSIONS is the one table.
VIEW_ORGANIZATION = "organization.view_organization"
CONTRIBUTE_ORGANIZATION = "organization.contribute_organization"
MANAGE_BILLING = "organization.manage_billing"
MANAGE_API_KEYS = "organization.manage_api_keys"
#: Create, see, roll and revoke one's own user keys (bounded by one's role),
#: without seeing anyone else's.
MANAGE_OWN_API_KEYS = "organization.manage_own_api_keys"
MANAGE_MEMBERS = "organization.manage_members"
DELETE_ORGANIZATION = "organization.delete_organization"

#: The organization permissions, in order, with their labels. Roles may grant
#: only these.
ORGANIZATION_PERMISSIONS: dict[str, Any] = {
    VIEW_ORGANIZATION: _("View the organization"),
    CONTRIBUTE_ORGANIZATION: _("Contribute content (offers, products)"),
    MANAGE_BILLING: _("Manage billing"),
    MANAGE_API_KEYS: _("Manage API keys"),
    MANAGE_OWN_API_KEYS: _("Manage their own API keys"),
    MANAGE_MEMBERS: _("Manage members"),
    DELETE_ORGANIZATION: _("Delete the organization"),
}


def _validate_permission_list(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValidationError(_("Enter a list of permission names."), code="invalid")
    unknown = sorted(set(value) - set(ORGANIZATION_PERMISSIONS))
    if unknown:
        raise ValidationError(
            _("Unknown permission(s): %(names)s."),
            code="invalid",
            params={"names": ", ".join(unknown)},
        )


def _validate_scope_list(value: Any) -> None:
    if not isinstance(value, list):
        raise ValidationError(_("Enter a list of scopes."), code="invalid")
    normalize_scopes(value)


class AbstractPlan(models.Model):
    """What an organization has paid for: modules (entitlements) and limits."""

    name = models.CharField(_("name"), max_length=NAME_LENGTH, unique=True)
    entitlements = models.JSONField(
        _("entitlements"),
        default=list,
        blank=True,
        help_text=_('Modules the plan includes, e.g. ["reports", "exports"]; "*" for all.'),
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        _("organization requests per minute"), default=0, help_text=_("0 = unlimited.")
    )
    rate_limit_per_day = models.PositiveIntegerField(
        _("organization requests per day"), default=0, help_text=_("0 = unlimited.")
    )
    rate_limit_per_month = models.PositiveIntegerField(
        _("organization requests per month"),
        default=0,
        help_text=_("Per calendar month (APIKEYS['MONTHLY_QUOTA_ANCHOR_DAY']); 0 = unlimited."),
    )

    class Meta:
        abstract = True
        ordering = ["name"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return self.name

    def includes(self, module: str) -> bool:
        return "*" in self.entitlements or module in self.entitlements


class AbstractOrganization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    slug = models.SlugField(_("slug"), max_length=NAME_LENGTH, unique=True)
    plan = models.ForeignKey(
        "django_apikeys.Plan",
        verbose_name=_("plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organizations",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    deactivated_at = models.DateTimeField(
        _("deleted at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Set when an Owner deletes the organization: its keys stop working at once, "
            "and the purgeorganizations command removes it after the retention period."
        ),
    )
    deactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        abstract = True
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        """``False`` once deleted (deactivated), until the purge removes it."""
        return self.deactivated_at is None


class AbstractRole(models.Model):
    """A named set of organization permissions and API scopes."""

    name = models.CharField(_("name"), max_length=NAME_LENGTH, unique=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    permissions = models.JSONField(
        _("organization permissions"),
        default=list,
        blank=True,
        validators=[_validate_permission_list],
        help_text=_("Organization permissions such as organization.manage_api_keys."),
    )
    scopes = models.JSONField(
        _("API scopes"),
        default=list,
        blank=True,
        validators=[_validate_scope_list],
        help_text=_('API scopes members may use through user keys, e.g. ["clients:read"].'),
    )
    rank = models.PositiveSmallIntegerField(
        _("rank"),
        default=0,
        help_text=_("Higher ranks first in lists; purely for display."),
    )

    class Meta:
        abstract = True
        ordering = ["-rank", "name"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.scopes = normalize_scopes(self.scopes)
        super().save(*args, **kwargs)


class AbstractMembership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="apikeys_memberships",
    )
    organization = models.ForeignKey(
        "django_apikeys.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.ForeignKey(
        "django_apikeys.Role",
        verbose_name=_("role"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        abstract = True
        ordering = ["organization", "user"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="django_apikeys_unique_membership"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


#: Reverse accessors of a key model's organization and owner: one per app and
#: class, so that key models in different apps never clash.
KEY_RELATED_NAME = "%(app_label)s_%(class)s_set"


def key_organization_field(related_name: str) -> models.ForeignKey[Any, Any]:
    """The key's organization (deleting it deletes its keys)."""
    return models.ForeignKey(
        "django_apikeys.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name=related_name,
    )


def key_owner_field(related_name: str) -> models.ForeignKey[Any, Any]:
    """The owner of a user key; empty for organization keys."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name=related_name,
        help_text=_("Owner of a user key; empty for organization keys."),
    )


class AbstractAPIKey(models.Model):
    """An API key: its hash, type, owner, scopes, limits and lifecycle dates.

    Bring your own key model by subclassing this in your app (add fields,
    give it ``objects = APIKeyManager()``) and set ``model`` on
    :class:`~django_apikeys.authentication.APIKeyAuthentication` and
    :class:`~django_apikeys.throttling.APIKeyRateThrottle` subclasses. Reverse
    accessors are named per app and class (``organization.<app>_<class>_set``)
    so that two key models never clash; the bundled
    :class:`~django_apikeys.models.APIKey` keeps ``organization.api_keys`` and
    ``user.apikeys_owned``.
    """

    #: The key owner's current organization permissions, annotated by the
    #: authentication lookup (:func:`django_apikeys.services.key_queryset`):
    #: ``None`` when the key has no user, the owner is no longer a member, or
    #: the instance was not loaded by that lookup.
    member_permissions: list[str] | None = None
    #: The owner's current role scopes, annotated like ``member_permissions``;
    #: a user key's effective scopes are its own ``scopes`` within these.
    member_scopes: list[str] | None = None

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = key_organization_field(KEY_RELATED_NAME)
    user = key_owner_field(KEY_RELATED_NAME)
    key_type = models.CharField(_("type"), max_length=KEY_TYPE_LENGTH)
    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    hint = models.CharField(_("hint"), max_length=HINT_LENGTH, editable=False)
    hashed_key = models.CharField(
        _("hashed key"), max_length=HASH_LENGTH, unique=True, editable=False
    )
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=0, help_text=_("0 = the default for the key type.")
    )
    rate_limit_per_day = models.PositiveIntegerField(
        _("requests per day"), default=0, help_text=_("0 = the default for the key type.")
    )
    rate_limit_per_month = models.PositiveIntegerField(
        _("requests per month"), default=0, help_text=_("0 = the default for the key type.")
    )
    remaining_uses = models.PositiveIntegerField(
        _("remaining uses"),
        null=True,
        blank=True,
        help_text=_("Lifetime quota left; empty = unlimited."),
    )
    environment = models.CharField(
        _("environment"),
        max_length=ENVIRONMENT_LENGTH,
        blank=True,
        default="",
        help_text=_("Optional label such as production or development (APIKEYS['ENVIRONMENTS'])."),
    )
    allowed_origins = models.JSONField(
        _("allowed origins"),
        default=list,
        blank=True,
        help_text=_("For publishable keys: browser origins allowed to use the key."),
    )
    allowed_ips = models.JSONField(
        _("allowed IP addresses"),
        default=list,
        blank=True,
        help_text=_(
            "IPv4/IPv6 addresses and CIDR ranges the key may be used from; empty = anywhere."
        ),
    )
    last_used_ip = models.GenericIPAddressField(
        _("last used from"), null=True, blank=True, editable=False
    )
    leaked_at = models.DateTimeField(
        _("reported leaked at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When a secret scanner reported the key public."),
    )
    replaces = models.ForeignKey(
        "self",
        verbose_name=_("replaces"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaced_by",
        editable=False,
        help_text=_("The key this one was rolled from."),
    )
    lineage = models.UUIDField(
        _("lineage"),
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text=_(
            "The first key of this key's roll chain (empty: this key is the first): "
            "rate limits and lifetime quotas are counted per lineage."
        ),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        abstract = True
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="%(class)s_org_created")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A member-scoped key acting in another organization is a copy whose
        # organization is the one acted on (services.grants): saving it would
        # move the key.
        if "home_organization_id" in self.__dict__:
            raise TypeError("A key acting in another organization cannot be saved.")
        super().save(*args, **kwargs)

    @property
    def lineage_root_id(self) -> Any:
        """The id rate limits and quotas count under: the first key of the roll chain."""
        return self.lineage or self.pk

    @property
    def type_config(self) -> Any:
        return apikeys_settings.key_type(self.key_type)

    @property
    def is_revoked(self) -> bool:
        return not self.is_active or self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired

    @property
    def status(self) -> str:
        """``revoked``, ``expired`` or ``active`` (for lists and filters)."""
        if self.is_revoked:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "active"


class AbstractPlaygroundGrant(models.Model):
    """One anonymous playground visitor: the keyed hash of their client
    fingerprint and the key they hold. Reissuing for the same fingerprint
    replaces the key but carries its remaining lifetime quota over."""

    fingerprint_hash = models.CharField(
        _("fingerprint hash"), max_length=HASH_LENGTH, unique=True, editable=False
    )
    api_key = models.ForeignKey(
        "django_apikeys.APIKey",
        verbose_name=_("current key"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    issued = models.PositiveIntegerField(_("keys issued"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("last issued at"), default=timezone.now, editable=False)

    class Meta:
        abstract = True
        ordering = ["-updated_at"]
        verbose_name = _("playground grant")
        verbose_name_plural = _("playground grants")

    def __str__(self) -> str:
        return f"{self.fingerprint_hash[:12]}… ({self.issued})"


class AbstractUsageRecord(models.Model):
    """Requests per organization, key and day, flushed from cache counters."""

    organization = models.ForeignKey(
        "django_apikeys.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="usage_records",
    )
    api_key = models.ForeignKey(
        "django_apikeys.APIKey",
        verbose_name=_("API key"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="usage_records",
    )
    date = models.DateField(_("date"))
    count = models.PositiveBigIntegerField(_("requests"), default=0)

    class Meta:
        abstract = True
        ordering = ["-date"]
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "api_key", "date"],
                name="django_apikeys_unique_usage_day",
            )
        ]


#: ``AbstractUsageOutcome.outcome`` of an admitted request; refusals store their code.
ADMITTED = "admitted"


class AbstractUsageOutcome(models.Model):
    """Requests per organization, key, hour (UTC) and outcome, flushed from cache counters.

    ``outcome`` is ``"admitted"`` or the refusal's code (``key_revoked``,
    ``rate_limited``, …). ``organization`` is empty for refusals that cannot
    be attributed to one (an ``invalid_key`` without the organization
    header); ``api_key`` is empty when no key is known. Admitted requests are
    also in :class:`AbstractUsageRecord` (per day), which quotas, the
    management API and older readers use.
    """

    organization = models.ForeignKey(
        "django_apikeys.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="usage_outcomes",
    )
    api_key = models.ForeignKey(
        "django_apikeys.APIKey",
        verbose_name=_("API key"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="usage_outcomes",
    )
    hour = models.DateTimeField(_("hour"))
    outcome = models.CharField(_("outcome"), max_length=64)
    count = models.PositiveBigIntegerField(_("requests"), default=0)

    class Meta:
        abstract = True
        ordering = ["-hour"]
        verbose_name = _("usage outcome")
        verbose_name_plural = _("usage outcomes")
        indexes = [
            models.Index(fields=["organization", "hour"], name="django_apikeys_outcome_org"),
            models.Index(fields=["api_key", "hour"], name="django_apikeys_outcome_key"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "api_key", "hour", "outcome"],
                name="django_apikeys_unique_usage_outcome",
            )
        ]


#: Labels of audit actions that optional parts write (the OAuth server's
#: ``oauth_app.created``, ...): each registers its own in ``AppConfig.ready()``
#: with :func:`register_action_labels`, so pages never show a raw code.
_EXTRA_ACTION_LABELS: dict[str, Any] = {}


def register_action_labels(labels: dict[str, Any]) -> None:
    """Name audit actions written outside :class:`AbstractAuditEvent.Action`."""
    _EXTRA_ACTION_LABELS.update(labels)


def action_choices() -> list[tuple[str, Any]]:
    """Every audit action with its label: the core's, then the registered ones."""
    return [*AbstractAuditEvent.Action.choices, *_EXTRA_ACTION_LABELS.items()]


class AbstractAuditEvent(models.Model):
    """Who did what to which key or membership, when and from where."""

    class Action(models.TextChoices):
        KEY_CREATED = "key.created", _("API key created")
        KEY_ROLLED = "key.rolled", _("API key rolled")
        KEY_REVOKED = "key.revoked", _("API key revoked")
        KEY_UPDATED = "key.updated", _("API key updated")
        MEMBER_ADDED = "member.added", _("Member added")
        MEMBER_ROLE_CHANGED = "member.role_changed", _("Member role changed")
        MEMBER_REMOVED = "member.removed", _("Member removed")
        KEY_LEAKED = "key.leaked", _("API key reported leaked")
        KEYS_REVOKED_ALL = "org.keys_revoked_all", _("Every API key revoked")
        EXPIRY_REMINDED = "key.expiry_reminded", _("Expiry reminder sent")
        MEMBER_LEFT = "member.left", _("Member left")
        ORGANIZATION_CREATED = "organization.created", _("Organization created")
        ORGANIZATION_UPDATED = "organization.updated", _("Organization settings changed")
        ORGANIZATION_DELETED = "organization.deleted", _("Organization deleted")
        OWNERSHIP_TRANSFERRED = "ownership.transferred", _("Ownership transferred")
        INVITATION_SENT = "invitation.sent", _("Invitation sent")
        INVITATION_RESENT = "invitation.resent", _("Invitation resent")
        INVITATION_REVOKED = "invitation.revoked", _("Invitation revoked")
        INVITATION_ACCEPTED = "invitation.accepted", _("Invitation accepted")
        INVITATION_DECLINED = "invitation.declined", _("Invitation declined")
        # Written by django_apikeys.oauth; declared here so that the audit
        # log's schema and ``?action=`` filter know every action it shows.
        OAUTH_APP_CREATED = "oauth_app.created", _("OAuth app created")
        OAUTH_APP_SECRET_ROLLED = "oauth_app.secret_rolled", _("OAuth app secret rolled")
        OAUTH_APP_DELETED = "oauth_app.deleted", _("OAuth app deleted")
        OAUTH_GRANT_REVOKED = "oauth_grant.revoked", _("OAuth access revoked")

    organization = models.ForeignKey(
        "django_apikeys.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="audit_events",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    target_type = models.CharField(_("target type"), max_length=32)
    target_id = models.CharField(_("target id"), max_length=64)
    target_repr = models.CharField(_("target"), max_length=255)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-created_at"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="%(class)s_org_created")
        ]

    def __str__(self) -> str:
        return f"{self.action_label}: {self.target_repr}"

    @property
    def action_label(self) -> str:
        """A readable label for ``action``, registered ones included (else the code)."""
        label = _EXTRA_ACTION_LABELS.get(self.action)
        return str(label) if label is not None else str(self.get_action_display())


class AbstractExpiryReminder(models.Model):
    """One expiry reminder sent: a key, the threshold (days before expiry) and
    the expiry it was about. Unique, so a reminder goes out once even when
    the command runs in two places; a new expiry date earns new reminders."""

    api_key = models.ForeignKey(
        "django_apikeys.APIKey",
        verbose_name=_("API key"),
        on_delete=models.CASCADE,
        related_name="expiry_reminders",
    )
    days = models.PositiveSmallIntegerField(_("days before expiry"))
    expires_at = models.DateTimeField(_("expiry"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-sent_at"]
        verbose_name = _("expiry reminder")
        verbose_name_plural = _("expiry reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "days", "expires_at"],
                name="django_apikeys_unique_expiry_reminder",
            )
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id} -{self.days}d"


class AbstractInvitation(models.Model):
    """An invitation to join an organization, sent to an e-mail address.

    The link carries a signed token; only its SHA-256 hash is stored, so the
    database cannot give a link back. An invitation is used once: accepting,
    declining or revoking it ends it; resending replaces the token.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "django_apikeys.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(_("e-mail address"), max_length=EMAIL_LENGTH)
    role = models.ForeignKey(
        "django_apikeys.Role",
        verbose_name=_("role"),
        on_delete=models.PROTECT,
        related_name="invitations",
    )
    token_hash = models.CharField(
        _("token hash"), max_length=HASH_LENGTH, unique=True, editable=False
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("last sent at"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True, editable=False)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    declined_at = models.DateTimeField(_("declined at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [models.Index(fields=["organization", "email"], name="%(class)s_org_email")]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization} ({self.role})"

    @property
    def status(self) -> str:
        """One of :class:`Status`'s values, decided by the timestamps."""
        if self.accepted_at is not None:
            return "accepted"
        if self.declined_at is not None:
            return "declined"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING
