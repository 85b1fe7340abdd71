"""Dashboard forms. They validate input and surface the services' errors;
the lifecycle itself (create, roll, revoke, members) stays in ``services``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import services
from ..abstract import NAME_LENGTH
from ..conf import KeyType, apikeys_settings
from ..models import APIKey, Membership, Organization, Role
from ..networks import MAX_ALLOWED_IPS, normalize_network
from ..origins import normalize_origin
from ..scopes import WILDCARD, expand_wildcard, normalize_scopes, outside
from ..services.lifecycle import MAX_ALLOWED_ORIGINS, MAX_EXPIRY_YEAR, MAX_RATE_LIMIT
from ..throttling import effective_key_limits
from ..vocabulary import site_vocabulary

#: Expiry choices of the create form; numbers are days from now.
EXPIRY_CHOICES = [
    ("never", _("Never")),
    ("7", _("In 7 days")),
    ("30", _("In 30 days")),
    ("90", _("In 90 days")),
    ("date", _("On a date")),
]

#: Grace periods offered when rolling a key, in seconds.
GRACE_CHOICES = [
    (0, _("Stop the old key now")),
    (60 * 60, _("1 hour")),
    (24 * 60 * 60, _("24 hours")),
    (7 * 24 * 60 * 60, _("7 days")),
]

#: Actions always offered in the scope grid; others appear when configured.
BASE_ACTIONS = ("read", "write")
MAX_EXTRA_SCOPES_LENGTH = 1000
MAX_LOGIN_LENGTH = 254

# The bounds are the services' (one home); the size of the origins text is the form's.
MAX_ALLOWED_ORIGINS_LENGTH = 6000


def apply_service_errors(
    form: forms.Form, exc: ValidationError, field_map: dict[str, str] | None = None
) -> None:
    """Show a service's ``ValidationError`` on ``form``: keyed errors on the
    matching field (renamed through ``field_map``), the rest as non-field errors."""
    field_map = field_map or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, errors in exc.error_dict.items():
        name = field_map.get(key, key)
        form.add_error(name if name in form.fields else None, errors)


# --- allowed origins -------------------------------------------------------


class OriginListField(forms.Field):
    """Browser origins, one per line, cleaned to the sorted list of distinct
    normalised origins (blank lines ignored), as ``services`` stores them.

    At most ``max_origins`` origins in at most ``max_length`` characters; the
    first few lines that are not origins are named in the error.
    """

    widget = forms.Textarea
    default_error_messages = {
        "invalid_origin": _(
            "“%(value)s” is not an origin. Write scheme://host or scheme://host:port "
            "with http or https, without a path, e.g. https://shop.example."
        ),
        "too_many_origins": _("At most %(max)s origins, one per line (%(count)s given)."),
        "too_long": _("At most %(max)s characters (%(count)s given)."),
    }
    #: Lines named in one error: enough to fix them, not a wall of text.
    max_reported = 5
    #: The pure rule that normalises one line (``None``: not valid).
    normalize_line = staticmethod(normalize_origin)

    def __init__(self, *, max_origins: int, max_length: int, **kwargs: Any) -> None:
        self.max_origins = max_origins
        self.max_length = max_length
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {**super().widget_attrs(widget), "maxlength": str(self.max_length)}

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = "" if value in self.empty_values else str(value)
        if len(text) > self.max_length:
            raise ValidationError(
                self.error_messages["too_long"],
                code="too_long",
                params={"max": self.max_length, "count": len(text)},
            )
        origins: set[str] = set()
        errors: list[ValidationError] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            origin = self.normalize_line(line)
            if origin is not None:
                origins.add(origin)
            elif len(errors) < self.max_reported:
                errors.append(
                    ValidationError(
                        self.error_messages["invalid_origin"],
                        code="invalid_origin",
                        params={"value": line.strip()[:100]},
                    )
                )
        if errors:
            raise ValidationError(errors)
        if len(origins) > self.max_origins:
            raise ValidationError(
                self.error_messages["too_many_origins"],
                code="too_many_origins",
                params={"max": self.max_origins, "count": len(origins)},
            )
        return sorted(origins)


def line_list_textarea(placeholder: str) -> forms.Textarea:
    """The textarea of a one-per-line list of technical values (no spelling aids)."""
    return forms.Textarea(
        attrs={
            "rows": 3,
            "spellcheck": "false",
            "autocapitalize": "off",
            "autocomplete": "off",
            "placeholder": placeholder,
        }
    )


class NetworkListField(OriginListField):
    """IP addresses and CIDR networks, one per line, cleaned by the one rule
    (:func:`django_apikeys.networks.normalize_network`)."""

    default_error_messages = {
        "invalid_origin": _(
            "“%(value)s” is not an IP address or a network such as 203.0.113.0/24 "
            "or 2001:db8::/32 (without host bits)."
        ),
        "too_many_origins": _(
            "At most %(max)s addresses or networks, one per line (%(count)s given)."
        ),
    }
    normalize_line = staticmethod(normalize_network)


# --- the scope grid ----------------------------------------------------------


@dataclass(frozen=True)
class ScopeCell:
    value: str
    label: str


@dataclass(frozen=True)
class ScopeRow:
    resource: str
    cells: tuple[ScopeCell | None, ...]


def _vocabulary(key_type: KeyType) -> tuple[dict[str, set[str]], set[str]]:
    """Resources with their named actions, and bare-word permissions, from the
    key type's allowance and the site's vocabulary (``SCOPE_VOCABULARY`` and
    the scopes its views declare, :mod:`django_apikeys.vocabulary`).

    Roles' scopes fill the grid only on a site that names no scope of its own:
    the reference roles' resources (billing, offers, products) are not a new
    site's API.
    """
    site = site_vocabulary()
    words: list[str] = [*key_type.scopes, *(key_type.default_scopes or ()), *site]
    if not [scope for scope in words if scope != WILDCARD]:
        for role_scopes in Role.objects.values_list("scopes", flat=True):
            words.extend(role_scopes or [])
    resources: dict[str, set[str]] = {}
    bare: set[str] = set()
    for scope in words:
        if scope == WILDCARD:
            continue
        resource, sep, action = scope.partition(":")
        if not sep:
            bare.add(resource)
            continue
        actions = resources.setdefault(resource, set())
        if action != WILDCARD:
            actions.add(action)
    return resources, bare


class KeyCreateForm(forms.Form):
    """Create a key of one key type (chosen before the form is shown).

    Scopes come from the grid (``scopes``) plus free text (``extra_scopes``);
    at least one is required: a key without scopes would be useless, and
    silently using the type's defaults could grant more than intended.
    The grid offers only what the type and the creator's role allow; the
    service has the last word on the free text.
    """

    form_token = forms.CharField(widget=forms.HiddenInput, max_length=100)
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_LENGTH,
        help_text=_("What the key is for, e.g. “Production backend” or “CI”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), required=False, widget=forms.CheckboxSelectMultiple
    )
    extra_scopes = forms.CharField(
        label=_("Other scopes"),
        required=False,
        max_length=MAX_EXTRA_SCOPES_LENGTH,
        help_text=_("Separated by spaces, written resource:action, e.g. “clients:read”."),
    )
    expiry = forms.ChoiceField(label=_("Expires"), choices=EXPIRY_CHOICES, initial="90")
    expires_on = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("With “On a date”: the key stops working at the end of that day."),
    )
    rate_limit_per_minute = forms.IntegerField(
        label=_("Requests per minute"), min_value=0, max_value=MAX_RATE_LIMIT, required=False
    )
    rate_limit_per_day = forms.IntegerField(
        label=_("Requests per day"), min_value=0, max_value=MAX_RATE_LIMIT, required=False
    )
    environment = forms.ChoiceField(
        label=_("Environment"),
        required=False,
        help_text=_("Which environment the key is for; shown in the key list."),
    )
    allowed_origins = OriginListField(
        label=_("Allowed origins"),
        required=False,
        max_origins=MAX_ALLOWED_ORIGINS,
        max_length=MAX_ALLOWED_ORIGINS_LENGTH,
        widget=line_list_textarea("https://shop.example"),
    )
    allowed_ips = NetworkListField(
        label=_("Allowed IP addresses"),
        required=False,
        max_origins=MAX_ALLOWED_IPS,
        max_length=MAX_ALLOWED_IPS * 45,
        help_text=_(
            "One per line: addresses or networks such as 203.0.113.7, 203.0.113.0/24, "
            "2001:db8::/32. The key then works only from these. Empty: from anywhere."
        ),
        widget=line_list_textarea("203.0.113.0/24"),
    )

    def __init__(
        self,
        *args: Any,
        key_type: KeyType,
        organization: Organization,
        user: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.key_type = key_type
        self.organization = organization
        self.user = user
        # The site's default expiry preselected when it is one of the choices.
        days = apikeys_settings.DEFAULT_KEY_EXPIRY_DAYS
        preselected = str(days) if days else "never"
        if preselected in dict(EXPIRY_CHOICES):
            self.fields["expiry"].initial = preselected
        # What the creator may grant, read once: the grid asks for every cell.
        self.ceiling = services.allowed_scopes_for(user, organization)
        self.wildcard_allowed, self.columns, self.rows, self.bare = self._build_grid()
        choices: list[tuple[str, Any]] = [
            (cell.value, cell.label) for row in self.rows for cell in row.cells if cell
        ]
        choices += [(word, word) for word in self.bare]
        # "*" on a type that may carry only some scopes: all of those.
        self.wildcard_restricted = WILDCARD not in key_type.scopes
        if self.wildcard_allowed:
            choices.insert(0, (WILDCARD, _("Everything (*)")))
        cast(forms.ChoiceField, self.fields["scopes"]).choices = choices
        if apikeys_settings.ENVIRONMENTS:
            cast(forms.ChoiceField, self.fields["environment"]).choices = [
                ("", _("None")),
                *((name, name) for name in apikeys_settings.ENVIRONMENTS),
            ]
        else:
            del self.fields["environment"]
        if key_type.publishable:
            # What 0 means for this type: its own default, else the global one.
            defaults = effective_key_limits(APIKey(key_type=key_type.name))
            names = ("rate_limit_per_minute", "rate_limit_per_day")
            for name, default in zip(names, defaults, strict=True):
                self.fields[name].help_text = _(
                    "0 or empty: the default (%(default)s; 0 = unlimited)."
                ) % {"default": default}
            self.fields["allowed_origins"].help_text = _(
                "One per line, e.g. “https://shop.example” (no path; "
                "at most %(max)s). The key then works only in requests whose Origin header "
                "is one of these, i.e. from those sites in a browser. Empty: any origin."
            ) % {"max": MAX_ALLOWED_ORIGINS}
        else:
            # Per-key limits and origins are publishable-key features.
            del self.fields["rate_limit_per_minute"]
            del self.fields["rate_limit_per_day"]
            del self.fields["allowed_origins"]

    def _offered(self, scope: str) -> bool:
        if outside([scope], self.key_type.scopes):
            return False
        return self.ceiling is None or not outside([scope], self.ceiling)

    def _build_grid(self) -> tuple[bool, list[str], list[ScopeRow], list[str]]:
        resources, bare = _vocabulary(self.key_type)
        named = sorted({a for actions in resources.values() for a in actions} - set(BASE_ACTIONS))
        columns = [*BASE_ACTIONS, *named, WILDCARD]
        rows = []
        for resource in sorted(resources):
            offered = set(BASE_ACTIONS) | resources[resource] | {WILDCARD}
            cells = tuple(
                ScopeCell(f"{resource}:{action}", f"{resource}:{action}")
                if action in offered and self._offered(f"{resource}:{action}")
                else None
                for action in columns
            )
            if any(cells):
                rows.append(ScopeRow(resource, cells))
        used = [c for c in columns if any(row.cells[columns.index(c)] for row in rows)]
        rows = [
            ScopeRow(row.resource, tuple(row.cells[columns.index(c)] for c in used))
            for row in rows
        ]
        bare_words = sorted(word for word in bare if self._offered(word))
        everything = expand_wildcard([WILDCARD], self.key_type.scopes)
        wildcard = self.ceiling is None or not outside(everything, self.ceiling)
        return wildcard, used, rows, bare_words

    def selected_scopes(self) -> list[str]:
        return list(self["scopes"].value() or [])

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        try:
            extra = normalize_scopes(cleaned.get("extra_scopes") or "")
        except ValidationError as exc:
            self.add_error("extra_scopes", exc)
            return cleaned
        scopes = normalize_scopes([*cleaned.get("scopes", []), *extra])
        if not scopes and "scopes" not in self.errors:
            self.add_error("scopes", _("Choose at least one scope."))
        cleaned["all_scopes"] = scopes
        cleaned["expires_at"] = self._expires_at(cleaned)
        if self.errors:
            return cleaned
        try:
            services.validate_key_request(
                organization=self.organization,
                key_type=self.key_type.name,
                user=self.user if self.key_type.user_owned else None,
                created_by=self.user,
                scopes=scopes,
                expires_at=cleaned["expires_at"],
                rate_limit_per_minute=cleaned.get("rate_limit_per_minute") or 0,
                rate_limit_per_day=cleaned.get("rate_limit_per_day") or 0,
                environment=cleaned.get("environment") or "",
            )
        except ValidationError as exc:
            apply_service_errors(self, exc, {"expires_at": "expires_on", "user": NON_FIELD_ERRORS})
        return cleaned

    def _expires_at(self, cleaned: dict[str, Any]) -> datetime.datetime | None:
        choice = cleaned.get("expiry")
        if choice in (None, "never"):
            return None
        if choice == "date":
            day = cleaned.get("expires_on")
            if day is None:
                if "expires_on" not in self.errors:
                    self.add_error("expires_on", _("Enter the expiry date."))
                return None
            if day.year > MAX_EXPIRY_YEAR:
                self.add_error(
                    "expires_on",
                    ValidationError(
                        _(
                            "Choose a date before the year %(year)s, or “Never” for a key "
                            "that does not expire."
                        ),
                        code="expiry_too_late",
                        params={"year": MAX_EXPIRY_YEAR + 1},
                    ),
                )
                return None
            midnight = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
            return timezone.make_aware(midnight)
        return timezone.now() + datetime.timedelta(days=int(choice))

    def create_kwargs(self) -> dict[str, Any]:
        """Arguments for :func:`services.create_key` from the cleaned data."""
        data = self.cleaned_data
        return {
            "organization": self.organization,
            "key_type": self.key_type.name,
            "name": data["name"],
            "user": self.user if self.key_type.user_owned else None,
            "created_by": self.user,
            "scopes": data["all_scopes"],
            "expires_at": data["expires_at"],
            "rate_limit_per_minute": data.get("rate_limit_per_minute") or 0,
            "rate_limit_per_day": data.get("rate_limit_per_day") or 0,
            "allowed_origins": data.get("allowed_origins") or [],
            "allowed_ips": data.get("allowed_ips") or [],
            "environment": data.get("environment") or "",
        }


class KeyRollForm(forms.Form):
    """Roll a key: a new key with the same settings; the old one keeps working
    for the chosen grace period, then stops.

    Whether the key may roll (active, not rolled before) is for
    :func:`~django_apikeys.services.roll_key` to judge; the view shows its
    errors on this form with :func:`apply_service_errors`."""

    form_token = forms.CharField(widget=forms.HiddenInput, max_length=100)
    compromised = forms.BooleanField(
        label=_("This key may have leaked"),
        required=False,
        help_text=_("Recorded in the audit log. Stop the old key now unless that breaks you."),
    )
    grace_period = forms.TypedChoiceField(
        label=_("Keep the old key working for"), coerce=int, choices=GRACE_CHOICES
    )

    def __init__(
        self, *args: Any, api_key: APIKey, compromised: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.api_key = api_key
        if compromised:
            # A leaked key: "Stop the old key now" is the first choice and the default.
            self.fields["compromised"].initial = True
            self.fields["grace_period"].initial = 0
            return
        default = int(apikeys_settings.ROLL_GRACE_PERIOD)
        field = cast(forms.TypedChoiceField, self.fields["grace_period"])
        if default not in dict(GRACE_CHOICES):
            field.choices = [
                *GRACE_CHOICES,
                (default, _("%(hours)s hours") % {"hours": default / 3600}),
            ]
        field.initial = default

    @property
    def grace(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=self.cleaned_data["grace_period"])


class ConfirmForm(forms.Form):
    """An empty form: the confirmation POST of revoke and remove."""


class RevokeAllKeysForm(forms.Form):
    """The incident action's confirmation: the organization's slug, typed."""

    confirm = forms.CharField(label=_("Type the organization's slug to confirm"), max_length=100)
    reason = forms.CharField(
        label=_("Reason (for the audit log)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["confirm"].widget.attrs.update(
            autocomplete="off", spellcheck="false", autocapitalize="off"
        )

    def clean_confirm(self) -> str:
        value = str(self.cleaned_data["confirm"]).strip()
        if value != self.organization.slug:
            raise ValidationError(
                _("Type “%(slug)s” exactly to revoke every key."),
                code="confirmation_mismatch",
                params={"slug": self.organization.slug},
            )
        return value


def _grantable_roles(actor: Any, organization: Organization) -> list[int]:
    return [r.pk for r in Role.objects.all() if services.can_grant_role(actor, organization, r)]


class AddMemberForm(forms.Form):
    """Add an existing user, found by username or email, with a role the
    actor may grant (the service checks again)."""

    user = forms.CharField(
        label=_("Username or email"),
        max_length=MAX_LOGIN_LENGTH,
        help_text=_("The person must already have an account on this site."),
    )
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.none())

    def __init__(self, *args: Any, organization: Organization, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.actor = actor
        roles = Role.objects.filter(pk__in=_grantable_roles(actor, organization))
        cast("forms.ModelChoiceField[Role]", self.fields["role"]).queryset = roles
        default = roles.filter(name=apikeys_settings.DEFAULT_ROLE).first()
        if default is not None:
            self.fields["role"].initial = default.pk

    def clean_user(self) -> Any:
        return find_active_user(self.cleaned_data["user"])


def find_active_user(login: str) -> Any:
    """The active user whose username is ``login``, else whose email it is
    (case-insensitive); ``ValidationError`` (``unknown`` or ``ambiguous``)
    otherwise. The add-member form and the management API ask this."""
    value = login.strip()
    User = get_user_model()
    user = User._default_manager.filter(**{User.USERNAME_FIELD: value}).first()
    if user is None and "@" in value:
        email_field = User.get_email_field_name()
        matches = list(User._default_manager.filter(**{f"{email_field}__iexact": value})[:2])
        if len(matches) > 1:
            raise ValidationError(
                _("Several accounts use this email; enter the username instead."),
                code="ambiguous",
            )
        user = matches[0] if matches else None
    if user is None or not user.is_active:
        raise ValidationError(_("No active account has this username or email."), code="unknown")
    return user


class ChangeRoleForm(forms.Form):
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.none())

    def __init__(self, *args: Any, membership: Membership, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership
        cast("forms.ModelChoiceField[Role]", self.fields["role"]).queryset = Role.objects.filter(
            pk__in=_grantable_roles(actor, membership.organization)
        )
        self.fields["role"].initial = membership.role_id


KEY_STATUS_CHOICES = [
    ("active", _("Active")),
    ("expired", _("Expired")),
    ("revoked", _("Revoked")),
    ("all", _("All")),
]
