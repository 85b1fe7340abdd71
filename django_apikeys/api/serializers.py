"""Serializers of the management API: representations and input shapes.

Input serializers check types and sizes only; what is allowed (scopes, owner,
roles, expiry) is decided by the services, whose ``ValidationError`` the
views turn into a 400 with the same field names and codes.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..abstract import EMAIL_LENGTH, NAME_LENGTH
from ..conf import apikeys_settings
from ..models import APIKey, AuditEvent, Invitation, Membership, Organization, Role
from ..networks import MAX_ALLOWED_IPS
from ..services.editing import MAX_RATE_LIMIT

#: Allowed origins of one key, scopes of one key (input bounds).
MAX_ALLOWED_ORIGINS = 20
MAX_SCOPES = 100
MAX_SCOPE_LENGTH = 100
#: The longest grace period a roll accepts: 90 days.
MAX_GRACE_PERIOD = 90 * 24 * 60 * 60
USAGE_MAX_DAYS = 366
#: The largest id a filter accepts: user ids may be 32-bit ``integer`` columns.
MAX_ID = 2**31 - 1
#: The last year an expiry may fall in (as the dashboard's form).
MAX_EXPIRY_YEAR = 9998

KEY_STATUS_CHOICES = ["active", "expired", "revoked", "all"]


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    username = serializers.CharField(source="get_username", read_only=True)


class RoleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    name = serializers.CharField(read_only=True)


class OrganizationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text=_("The caller's role here."))
    permissions = serializers.SerializerMethodField(
        help_text=_("The organization permissions the caller's role grants.")
    )

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "created_at", "role", "permissions"]
        read_only_fields = fields

    def _membership(self, organization: Organization) -> Membership | None:
        return self.context.get("memberships", {}).get(organization.pk)  # type: ignore[no-any-return]

    def get_role(self, organization: Organization) -> str | None:
        membership = self._membership(organization)
        return membership.role.name if membership else None

    def get_permissions(self, organization: Organization) -> list[str]:
        membership = self._membership(organization)
        return list(membership.role.permissions) if membership else []


class KeyTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    prefix = serializers.CharField()
    owner = serializers.ChoiceField(choices=["organization", "user"])
    publishable = serializers.BooleanField()
    read_only = serializers.BooleanField()  # type: ignore[assignment]
    scopes = serializers.ListField(child=serializers.CharField())
    default_scopes = serializers.ListField(child=serializers.CharField())
    rate_limit_per_minute = serializers.IntegerField()
    rate_limit_per_day = serializers.IntegerField()
    lifetime_quota = serializers.IntegerField(allow_null=True)


class APIKeySerializer(serializers.ModelSerializer):
    """A key as lists show it: never the secret, only its ``hint``."""

    status = serializers.ChoiceField(choices=["active", "expired", "revoked"], read_only=True)
    user = UserRefSerializer(read_only=True, allow_null=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    replaces = serializers.UUIDField(source="replaces_id", read_only=True, allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField(), read_only=True)
    allowed_origins = serializers.ListField(child=serializers.CharField(), read_only=True)
    allowed_ips = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text=_("Addresses and CIDR networks the key is limited to (empty: anywhere)."),
    )

    class Meta:
        model = APIKey
        fields = [
            "id",
            "name",
            "key_type",
            "hint",
            "status",
            "scopes",
            "user",
            "created_by",
            "created_at",
            "last_used",
            "expires_at",
            "revoked_at",
            "leaked_at",
            "rate_limit_per_minute",
            "rate_limit_per_day",
            "remaining_uses",
            "allowed_origins",
            "allowed_ips",
            "replaces",
        ]
        read_only_fields = fields


class CreatedAPIKeySerializer(APIKeySerializer):
    """A new key with its raw value: the only response that ever carries it."""

    key = serializers.CharField(
        read_only=True,
        help_text=_("The raw key. Shown in this response only: store it now."),
    )

    class Meta(APIKeySerializer.Meta):
        fields = [*APIKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


def _key_type_choices() -> list[str]:
    return list(apikeys_settings.key_types)


class ScopeListField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField(max_length=MAX_SCOPE_LENGTH))
        kwargs.setdefault("max_length", MAX_SCOPES)
        super().__init__(**kwargs)


class OriginListField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField(max_length=300))
        kwargs.setdefault("max_length", MAX_ALLOWED_ORIGINS)
        super().__init__(**kwargs)


class NetworkListField(serializers.ListField):
    """IP addresses and CIDR networks; checked by :mod:`django_apikeys.networks`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField(max_length=100))
        kwargs.setdefault("max_length", MAX_ALLOWED_IPS)
        kwargs.setdefault(
            "help_text",
            _(
                'Limit the key to these addresses or networks, e.g. ["203.0.113.0/24", '
                '"2001:db8::1"]; empty: from anywhere.'
            ),
        )
        super().__init__(**kwargs)


class APIKeyCreateSerializer(serializers.Serializer):
    """Create a key. A user-owned type's key belongs to the caller."""

    name = serializers.CharField(max_length=NAME_LENGTH)
    key_type = serializers.ChoiceField(choices=[])
    scopes = ScopeListField(
        min_length=1,
        help_text=_(
            'The key\'s scopes, e.g. ["clients:read"]; at most what the key type allows, '
            "what the person behind the request holds, and (for a key) what it carries."
        ),
    )
    # Left out: the default expiry (APIKEYS["DEFAULT_KEY_EXPIRY_DAYS"], 90 days);
    # null asks, explicitly, for a key that never expires.
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=_(
            "When the key stops working. Left out: in 90 days (the site's default expiry); "
            "null: never."
        ),
    )
    rate_limit_per_minute = serializers.IntegerField(
        min_value=0, max_value=MAX_RATE_LIMIT, required=False, default=0
    )
    rate_limit_per_day = serializers.IntegerField(
        min_value=0, max_value=MAX_RATE_LIMIT, required=False, default=0
    )
    allowed_origins = OriginListField(required=False, default=list)
    allowed_ips = NetworkListField(required=False, default=list)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["key_type"]
        assert isinstance(field, serializers.ChoiceField)
        field.choices = _key_type_choices()

    def validate_expires_at(self, value: datetime.datetime | None) -> datetime.datetime | None:
        # A rolled key gets the same lifetime from then on: keep far from year 9999.
        if value is not None and value.year > MAX_EXPIRY_YEAR:
            raise serializers.ValidationError(
                _(
                    "Choose a time before the year %(year)s, or null for a key that does not "
                    "expire."
                )
                % {"year": MAX_EXPIRY_YEAR + 1},
                code="expiry_too_late",
            )
        return value


class APIKeyUpdateSerializer(serializers.Serializer):
    """Change a key's name, per-key rate limits, allowed origins or allowed IP
    addresses (PATCH)."""

    name = serializers.CharField(max_length=NAME_LENGTH, required=False)
    rate_limit_per_minute = serializers.IntegerField(
        min_value=0, max_value=MAX_RATE_LIMIT, required=False
    )
    rate_limit_per_day = serializers.IntegerField(
        min_value=0, max_value=MAX_RATE_LIMIT, required=False
    )
    allowed_origins = OriginListField(required=False)
    allowed_ips = NetworkListField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # DRF ignores fields a serializer does not declare: a client sending
        # ``scopes`` or ``key_type`` would get 200 and believe them changed.
        data = self.initial_data if isinstance(self.initial_data, dict) else {}
        refused = sorted(str(name) for name in data if name not in self.fields)
        if refused:
            raise serializers.ValidationError(
                {
                    name: [
                        serializers.ErrorDetail(
                            str(
                                _(
                                    "This field cannot be changed: roll or replace the key "
                                    "instead. Changeable: %(fields)s."
                                )
                                % {"fields": ", ".join(self.fields)}
                            ),
                            code="read_only_field",
                        )
                    ]
                    for name in refused
                }
            )
        return attrs


class RollSerializer(serializers.Serializer):
    grace_period = serializers.IntegerField(
        min_value=0,
        max_value=MAX_GRACE_PERIOD,
        required=False,
        help_text=_(
            "Seconds the old key keeps working (0: revoked at once). Default: "
            "APIKEYS['ROLL_GRACE_PERIOD']."
        ),
    )


class KeyFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=KEY_STATUS_CHOICES, required=False, default="all")
    key_type = serializers.ChoiceField(choices=[], required=False)
    user = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text=_("Only user keys of this user (id)."),
    )
    search = serializers.CharField(
        required=False, max_length=NAME_LENGTH, help_text=_("Part of the name or hint.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["key_type"]
        assert isinstance(field, serializers.ChoiceField)
        field.choices = _key_type_choices()


class RoleSerializer(serializers.ModelSerializer):
    grantable = serializers.SerializerMethodField(
        help_text=_("Whether the caller may grant this role.")
    )
    permissions = serializers.ListField(child=serializers.CharField(), read_only=True)
    scopes = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Role
        fields = ["id", "name", "description", "permissions", "scopes", "rank", "grantable"]
        read_only_fields = fields

    def get_grantable(self, role: Role) -> bool:
        return role.pk in self.context.get("grantable", set())


class MembershipSerializer(serializers.ModelSerializer):
    user = UserRefSerializer(read_only=True)
    role = RoleRefSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at"]
        read_only_fields = fields


class RoleNameField(serializers.SlugRelatedField):
    """A role by name, checked before the lookup: a name the column cannot
    hold (a NUL byte, which PostgreSQL refuses in a query, or too long) is
    400 ``invalid``, never a database error."""

    def to_internal_value(self, data: Any) -> Any:
        max_length = getattr(Role._meta.get_field("name"), "max_length", None) or NAME_LENGTH
        if not isinstance(data, str) or "\x00" in data or len(data) > max_length:
            self.fail("invalid")
        return super().to_internal_value(data)


def _role_field(**kwargs: Any) -> serializers.SlugRelatedField:
    return RoleNameField(
        slug_field="name",
        queryset=Role.objects.all(),
        help_text=_("The role's name, e.g. “Editor” (see the roles endpoint)."),
        **kwargs,
    )


class MemberInviteSerializer(serializers.Serializer):
    """Invite someone: they join when they accept with their own account."""

    email = serializers.EmailField(
        max_length=EMAIL_LENGTH,
        help_text=_(
            "The address to invite. The invitee follows the e-mailed link and accepts "
            "with an account that has this address."
        ),
    )
    role = _role_field()

    def to_internal_value(self, data: Any) -> Any:
        # The previous body named an existing account ("user"): adding people
        # without their consent is what invitations replace; say so first.
        if isinstance(data, dict) and "user" in data:
            raise serializers.ValidationError(
                {
                    "user": [
                        serializers.ErrorDetail(
                            str(
                                _(
                                    "People join by invitation: send “email” and “role”; "
                                    "they accept with their own account."
                                )
                            ),
                            code="invitation_required",
                        )
                    ]
                }
            )
        return super().to_internal_value(data)


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation as the inviter sees it (never its link)."""

    role = RoleRefSerializer(read_only=True)
    invited_by = UserRefSerializer(read_only=True, allow_null=True)
    status = serializers.CharField(
        read_only=True,
        help_text=_("pending, accepted, declined, revoked or expired."),
    )

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "invited_by", "status", "created_at", "expires_at"]
        read_only_fields = fields


class MemberChangeSerializer(serializers.Serializer):
    role = _role_field()


class UsageQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=USAGE_MAX_DAYS, default=30)
    key = serializers.UUIDField(
        required=False, help_text=_("Only this key's requests (needs the API key permission).")
    )


class UsageDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    count = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    organization = serializers.UUIDField()
    key = serializers.UUIDField(allow_null=True)
    days = serializers.IntegerField()
    total = serializers.IntegerField()
    series = UsageDaySerializer(many=True)


class AuditFilterSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=AuditEvent.Action.values, required=False)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(read_only=True, allow_null=True)
    details = serializers.DictField(read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "action",
            "actor",
            "target_type",
            "target_id",
            "target_repr",
            "ip_address",
            "details",
            "created_at",
        ]
        read_only_fields = fields
