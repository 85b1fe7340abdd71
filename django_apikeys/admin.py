"""Django admin: organizations with members, roles, plans, keys and audit events.

Creating a key in the admin renders the raw key once, in the response to the
add form's POST: never in a message, the session, a LogEntry, a URL or a log
line. The hash is never displayed; revocation is an action and is one-way.
"""

from __future__ import annotations

import json
from typing import Any

import django
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from . import services
from .abstract import ORGANIZATION_PERMISSIONS
from .conf import apikeys_settings
from .models import (
    APIKey,
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    Plan,
    PlaygroundGrant,
    Role,
    UsageOutcome,
    UsageRecord,
)
from .networks import client_ip, normalize_networks
from .origins import normalize_origins
from .scopes import normalize_scopes

#: Django 6.1's admin marks breadcrumbs up as ``<ol class="breadcrumbs">`` (and
#: styles only that); before, as ``<div class="breadcrumbs">`` with separators.
BREADCRUMBS_AS_LIST = django.VERSION >= (6, 1)

# --- forms -----------------------------------------------------------------


class ScopesField(forms.CharField):
    """Scopes typed as words separated by spaces or commas; normalised on clean."""

    widget = forms.TextInput

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return " ".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            return normalize_scopes(value)
        return normalize_scopes(super().to_python(value) or "")


class TextListField(forms.CharField):
    """A list typed one item per line (or separated by spaces or commas),
    normalised and validated by the one rule for it (``normalize``): the admin
    stores exactly what the services would. A JSON list (as the admin showed
    such fields before) is accepted too; an empty list shows as an empty box,
    never a literal ``[]``."""

    widget = forms.Textarea(attrs={"rows": 3})
    #: The model field's name in the rule's ``ValidationError``.
    field_name = ""
    typed_hint = _("Enter one item per line, or a JSON list.")
    not_a_list = _("Enter a list.")
    code = "invalid"

    def normalize(self, values: list[Any]) -> list[str]:
        raise NotImplementedError

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        if isinstance(value, str) and value.strip() == "[]":
            return ""
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if not isinstance(value, list | tuple):
            text = (super().to_python(value) or "").strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise ValidationError(self.typed_hint, code=self.code) from None
                if not isinstance(value, list):
                    raise ValidationError(self.not_a_list, code=self.code)
            else:
                value = text.replace(",", " ").split()
        try:
            return self.normalize(list(value))
        except ValidationError as exc:
            errors = getattr(exc, "error_dict", {}).get(self.field_name)
            raise ValidationError(errors or exc.error_list) from None

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or [])
        except ValidationError:
            return True


class OriginsField(TextListField):
    """Allowed origins, by :mod:`django_apikeys.origins` (the one origin rule)."""

    field_name = "allowed_origins"
    typed_hint = _("Enter origins one per line, or a JSON list of origins.")
    not_a_list = _("Allowed origins must be a list of origins.")
    code = "invalid_origin"

    def normalize(self, values: list[Any]) -> list[str]:
        return normalize_origins(values)


class NetworksField(TextListField):
    """Allowed IP addresses and networks, by :mod:`django_apikeys.networks`."""

    field_name = "allowed_ips"
    typed_hint = _("Enter addresses or networks one per line, or a JSON list of them.")
    not_a_list = _("Allowed IP addresses must be a list of addresses or networks.")
    code = "invalid_network"

    def normalize(self, values: list[Any]) -> list[str]:
        return normalize_networks(values)


class RoleAdminForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        label=_("Organization permissions"),
        choices=list(ORGANIZATION_PERMISSIONS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    scopes = ScopesField(
        label=_("API scopes"),
        required=False,
        help_text=_("Separated by spaces, e.g. “clients:read invoices:*”; “*” for all."),
    )

    class Meta:
        model = Role
        fields = ["name", "description", "permissions", "scopes", "rank"]


class _MonthlyLimitMixin:
    """``rate_limit_per_month`` may be left empty (0: the key type's default),
    so that forms posted without it keep working."""

    fields: Any
    cleaned_data: dict[str, Any]

    def _optional_monthly_limit(self) -> None:
        self.fields["rate_limit_per_month"].required = False

    def clean_rate_limit_per_month(self) -> int:
        return int(self.cleaned_data.get("rate_limit_per_month") or 0)


class APIKeyCreationForm(_MonthlyLimitMixin, forms.ModelForm):
    key_type = forms.ChoiceField(label=_("Type"))
    environment = forms.ChoiceField(label=_("Environment"), required=False)
    scopes = ScopesField(
        label=_("Scopes"),
        required=False,
        help_text=_(
            "Separated by spaces, e.g. “clients:read invoices:*”; “*” for all. "
            "Empty: the type's default scopes, for a type that has some."
        ),
    )

    class Meta:
        model = APIKey
        fields = [
            "organization",
            "key_type",
            "name",
            "user",
            "scopes",
            "expires_at",
            "rate_limit_per_minute",
            "rate_limit_per_day",
            "rate_limit_per_month",
            "allowed_origins",
            "allowed_ips",
            "environment",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.request: HttpRequest | None = kwargs.pop("request", None)
        super().__init__(*args, **kwargs)
        self._optional_monthly_limit()
        self.fields["key_type"].choices = [  # type: ignore[attr-defined]
            (kt.name, f"{kt.label} ({kt.prefix})") for kt in apikeys_settings.key_types.values()
        ]
        self.fields["environment"].choices = [  # type: ignore[attr-defined]
            ("", "---------"),
            *((name, name) for name in apikeys_settings.ENVIRONMENTS),
        ]
        # The secure default, as everywhere: an expiry unless one clears it.
        expires_at = self.fields["expires_at"]
        expires_at.initial = services.default_expiry
        expires_at.help_text = _("Leave empty for a key that never expires.")

    def clean_allowed_ips(self) -> list[str]:
        return _clean_allowed_ips(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organization = cleaned.get("organization")
        if organization is None or not cleaned.get("key_type"):
            return cleaned
        try:
            _kt, scopes = services.validate_key_request(
                organization=organization,
                key_type=cleaned["key_type"],
                user=cleaned.get("user"),
                created_by=getattr(self.request, "user", None),
                scopes=cleaned.get("scopes") or None,
                expires_at=cleaned.get("expires_at"),
                rate_limit_per_minute=cleaned.get("rate_limit_per_minute") or 0,
                rate_limit_per_day=cleaned.get("rate_limit_per_day") or 0,
                environment=cleaned.get("environment") or "",
            )
        except ValidationError as exc:
            self.add_error(None, exc)
        else:
            cleaned["scopes"] = scopes
        return cleaned

    def create(self) -> tuple[APIKey, str]:
        data = self.cleaned_data
        return services.create_key(
            organization=data["organization"],
            key_type=data["key_type"],
            name=data["name"],
            user=data.get("user"),
            created_by=getattr(self.request, "user", None),
            scopes=data.get("scopes"),
            expires_at=data.get("expires_at"),
            rate_limit_per_minute=data.get("rate_limit_per_minute") or 0,
            rate_limit_per_day=data.get("rate_limit_per_day") or 0,
            rate_limit_per_month=data.get("rate_limit_per_month") or 0,
            allowed_origins=data.get("allowed_origins") or [],
            allowed_ips=data.get("allowed_ips") or [],
            environment=data.get("environment") or "",
            ip_address=client_ip(self.request) if self.request else None,
        )


def _clean_allowed_ips(form: forms.ModelForm) -> list[str]:
    """The ``allowed_ips`` field through the one rule (:mod:`django_apikeys.networks`)."""
    try:
        return normalize_networks(form.cleaned_data.get("allowed_ips") or [])
    except ValidationError as exc:
        raise ValidationError(exc.error_dict["allowed_ips"]) from None


class APIKeyChangeForm(_MonthlyLimitMixin, forms.ModelForm):
    """The change form: what may change on an existing key (name, expiry,
    limits, origins, IP allowlist), the allowlist checked by the one rule."""

    class Meta:
        model = APIKey
        fields = [
            "name",
            "expires_at",
            "rate_limit_per_minute",
            "rate_limit_per_day",
            "rate_limit_per_month",
            "allowed_origins",
            "allowed_ips",
            "is_active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._optional_monthly_limit()

    def clean_allowed_ips(self) -> list[str]:
        return _clean_allowed_ips(self)


# --- base admins -------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class BasePlanAdmin(admin.ModelAdmin):
    list_display = ["name", "rate_limit_per_minute", "rate_limit_per_day", "rate_limit_per_month"]
    search_fields = ["name"]


class InvitationInline(admin.TabularInline):
    """Invitations of an organization, read-only (the token hash is never shown)."""

    model = Invitation
    extra = 0
    fields = ["email", "role", "status", "invited_by", "created_at", "expires_at"]
    readonly_fields = ["email", "role", "status", "invited_by", "created_at", "expires_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("status"))
    def status(self, obj: Invitation) -> str:
        return str(Invitation.Status(obj.status).label)


class DeletedFilter(admin.SimpleListFilter):
    title = _("deleted")
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("No")), ("yes", _("Yes (awaiting purge)"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Organization]
    ) -> QuerySet[Organization]:
        if self.value() == "no":
            return queryset.filter(deactivated_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deactivated_at__isnull=False)
        return queryset


class BaseOrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "plan", "created_at", "deactivated_at"]
    list_filter = ["plan", DeletedFilter]
    list_select_related = ["plan"]
    search_fields = ["name", "slug", "id"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["id", "created_at", "deactivated_at", "deactivated_by"]
    inlines = [MembershipInline, InvitationInline]
    actions = ["delete_organizations"]

    @admin.action(
        description=_("Delete (deactivate) selected organizations: keys stop at once"),
        permissions=["change"],
    )
    def delete_organizations(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        count = sum(
            services.delete_organization(org, actor=request.user, ip_address=client_ip(request))
            for org in queryset
        )
        self.message_user(
            request,
            ngettext("Deactivated %d organization.", "Deactivated %d organizations.", count)
            % count,
            messages.SUCCESS,
        )


class BaseRoleAdmin(admin.ModelAdmin):
    form = RoleAdminForm
    list_display = ["name", "description", "permission_count", "scope_list"]
    search_fields = ["name"]

    @admin.display(description=_("permissions"))
    def permission_count(self, obj: Role) -> int:
        return len(obj.permissions)

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: Role) -> str:
        return " ".join(obj.scopes)


class KeyTypeFilter(admin.SimpleListFilter):
    title = _("type")
    parameter_name = "key_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(kt.name, kt.label) for kt in apikeys_settings.key_types.values()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> QuerySet[APIKey]:
        value = self.value()
        return queryset.filter(key_type=value) if value else queryset


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> QuerySet[APIKey]:
        if self.value() == "active":
            return queryset.active()  # type: ignore[attr-defined]
        if self.value() == "revoked":
            return queryset.revoked()  # type: ignore[attr-defined]
        return queryset


class BaseAPIKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "hint",
        "key_type",
        "environment",
        "organization",
        "user",
        "status",
        "last_used",
        "last_used_ip",
        "expires_at",
        "created_at",
    ]
    list_filter = [
        KeyTypeFilter,
        StatusFilter,
        "environment",
        "is_active",
        ("leaked_at", admin.EmptyFieldListFilter),
        "organization",
    ]
    form = APIKeyChangeForm
    list_select_related = ["organization", "user"]
    search_fields = ["name", "hint", "organization__name", "organization__slug", "user__username"]
    # An organization is picked by name (search), not by pasting its UUID.
    autocomplete_fields = ["organization"]
    raw_id_fields = ["user"]
    actions = ["revoke_keys", "roll_keys_now", "roll_keys"]
    created_template = "admin/django_apikeys/apikey/created.html"
    rolled_template = "admin/django_apikeys/apikey/rolled.html"
    readonly_fields = [
        "id",
        "organization",
        "user",
        "key_type",
        "environment",
        "hint",
        "scopes",
        "status",
        "is_active",
        "revoked_at",
        "revoked_by",
        "last_used",
        "last_used_ip",
        "leaked_at",
        "remaining_uses",
        "replaces",
        "created_at",
        "created_by",
    ]
    fields = [
        "id",
        "name",
        "organization",
        "user",
        "key_type",
        "environment",
        "hint",
        "scopes",
        "status",
        "expires_at",
        "rate_limit_per_minute",
        "rate_limit_per_day",
        "rate_limit_per_month",
        "allowed_origins",
        "allowed_ips",
        "remaining_uses",
        "is_active",
        "revoked_at",
        "revoked_by",
        "leaked_at",
        "last_used",
        "last_used_ip",
        "replaces",
        "created_at",
        "created_by",
    ]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "allowed_origins":
            return OriginsField(
                label=capfirst(db_field.verbose_name),
                required=False,
                help_text=_("One origin per line, e.g. https://shop.example; empty: any caller."),
            )
        if db_field.name == "allowed_ips":
            return NetworksField(
                label=capfirst(db_field.verbose_name),
                required=False,
                help_text=_(
                    "One address or network per line, e.g. 203.0.113.7 or 10.0.0.0/24; "
                    "empty: anywhere."
                ),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        kwargs.update(form=APIKeyCreationForm, fields=APIKeyCreationForm.Meta.fields)
        base = super().get_form(request, obj, change=change, **kwargs)

        class CreationForm(base):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **kw: Any) -> None:
                kw["request"] = request
                super().__init__(*args, **kw)

        return CreationForm

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return APIKeyCreationForm.Meta.fields
        return self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    @sensitive_variables("raw_key", "api_key", "obj")
    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        if change:
            return super().save_form(request, form, change)
        api_key, raw_key = form.create()
        # Kept on the instance only until response_add renders it.
        api_key._raw_key = raw_key
        return api_key

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        # On add the service has saved the key already.

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)
        # On add there is nothing related to save: the service did it all.

    @sensitive_variables("raw_key", "api_key", "obj")
    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        raw_key = obj.__dict__.pop("_raw_key", None)
        if raw_key is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "breadcrumbs_as_list": BREADCRUMBS_AS_LIST,
            "title": _("API key created"),
            "api_key": obj,
            "raw_key": raw_key,
        }
        response = TemplateResponse(request, self.created_template, context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke selected API keys"), permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        count = 0
        for api_key in queryset.select_related("organization"):
            if services.revoke_key(api_key, actor=request.user, ip_address=client_ip(request)):
                count += 1
        self.message_user(
            request,
            ngettext("Revoked %d API key.", "Revoked %d API keys.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Roll selected API keys and stop the old keys now (compromised)"),
        permissions=["change"],
    )
    def roll_keys_now(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> Any:
        return self._roll(request, queryset, compromised=True)

    @admin.action(
        description=_("Roll selected API keys (old keys work for the grace period)"),
        permissions=["change"],
    )
    def roll_keys(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> Any:
        return self._roll(request, queryset, compromised=False)

    @sensitive_variables("raw_key", "rolled")
    def _roll(
        self, request: HttpRequest, queryset: QuerySet[APIKey], *, compromised: bool
    ) -> HttpResponse | None:
        """Roll each key through the service; the new raw keys are in this
        response only (``no-store``), keys that cannot roll are listed."""
        rolled: list[tuple[APIKey, APIKey, str]] = []
        skipped: list[tuple[APIKey, str]] = []
        for api_key in queryset.select_related("organization", "user"):
            try:
                new, raw_key = services.roll_key(
                    api_key,
                    actor=request.user,
                    compromised=compromised,
                    ip_address=client_ip(request),
                )
            except ValidationError as exc:
                skipped.append((api_key, "; ".join(exc.messages)))
            else:
                rolled.append((api_key, new, raw_key))
        if not rolled:
            self.message_user(request, _("No key could be rolled."), messages.WARNING)
            for api_key, reason in skipped:
                self.message_user(request, f"{api_key}: {reason}", messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "breadcrumbs_as_list": BREADCRUMBS_AS_LIST,
            "title": _("API keys rolled"),
            "rolled": rolled,
            "skipped": skipped,
            "compromised": compromised,
        }
        response = TemplateResponse(request, self.rolled_template, context)
        response["Cache-Control"] = "no-store"
        return response


INVITATION_FIELDS: list[str] = [
    "id",
    "organization",
    "email",
    "role",
    "status",
    "invited_by",
    "created_at",
    "sent_at",
    "expires_at",
    "accepted_at",
    "accepted_by",
    "declined_at",
    "revoked_at",
]


class BaseInvitationAdmin(admin.ModelAdmin):
    """Invitations: who was invited where, by whom, and what became of it.

    Read-only but for the revoke action; the token hash is never displayed.
    """

    list_display = ["email", "organization", "role", "status", "invited_by", "created_at"]
    list_filter = ["role", "organization"]
    list_select_related = ["organization", "role", "invited_by"]
    search_fields = ["email", "organization__name", "organization__slug"]
    fields = list(INVITATION_FIELDS)
    readonly_fields = INVITATION_FIELDS
    actions = ["revoke_invitations"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("status"))
    def status(self, obj: Invitation) -> str:
        return str(Invitation.Status(obj.status).label)

    @admin.action(description=_("Revoke selected invitations"), permissions=["change"])
    def revoke_invitations(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        count = sum(
            services.revoke_invitation(inv, actor=request.user, ip_address=client_ip(request))
            for inv in queryset.select_related("organization")
        )
        self.message_user(
            request,
            ngettext("Revoked %d invitation.", "Revoked %d invitations.", count) % count,
            messages.SUCCESS,
        )


class BaseUsageRecordAdmin(admin.ModelAdmin):
    list_display = ["date", "organization", "api_key", "count"]
    list_filter = ["date", "organization"]
    list_select_related = ["organization", "api_key"]
    raw_id_fields = ["organization", "api_key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BaseUsageOutcomeAdmin(BaseUsageRecordAdmin):
    list_display = ["hour", "organization", "api_key", "outcome", "count"]
    list_filter = ["outcome", "hour"]
    date_hierarchy = "hour"


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record kept as it happened: no add, change or delete in the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BaseAuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "actor", "action", "target_repr", "ip_address"]
    list_filter = ["action", "organization"]
    list_select_related = ["organization", "actor"]
    search_fields = ["target_repr", "target_id", "actor__username"]
    date_hierarchy = "created_at"


class BasePlaygroundGrantAdmin(ReadOnlyAdmin):
    """Read only: a grant holds a fingerprint's quota; deleting it would hand
    out a new one. End a visitor's access by revoking their key."""

    list_display = ["fingerprint_hash", "api_key", "issued", "created_at", "updated_at"]
    list_select_related = ["api_key"]
    search_fields = ["fingerprint_hash", "api_key__hint"]
    date_hierarchy = "updated_at"


admin.site.register(Plan, BasePlanAdmin)
admin.site.register(Organization, BaseOrganizationAdmin)
admin.site.register(Role, BaseRoleAdmin)
admin.site.register(APIKey, BaseAPIKeyAdmin)
admin.site.register(Invitation, BaseInvitationAdmin)
admin.site.register(UsageRecord, BaseUsageRecordAdmin)
admin.site.register(UsageOutcome, BaseUsageOutcomeAdmin)
admin.site.register(AuditEvent, BaseAuditEventAdmin)
admin.site.register(PlaygroundGrant, BasePlaygroundGrantAdmin)
