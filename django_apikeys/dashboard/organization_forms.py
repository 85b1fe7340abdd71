"""Forms of the organization pages: create, settings, typed confirmations,
ownership transfer and invitations. They collect input; the rules (slugs,
roles, last Owner) are the services' and their errors are shown as they come."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..abstract import EMAIL_LENGTH, NAME_LENGTH
from ..conf import apikeys_settings
from ..models import Membership, Organization, Role
from .forms import _grantable_roles


class OrganizationForm(forms.Form):
    """Name and slug; on create the slug may be left empty (made from the name)."""

    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH)
    slug = forms.CharField(
        label=_("Slug"),
        max_length=NAME_LENGTH,
        help_text=_(
            "Short name for URLs and the organization header: letters, digits, hyphens "
            "and underscores."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, slug_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = slug_required
        if not slug_required:
            self.fields["slug"].help_text = _(
                "Optional: made from the name if left empty. Letters, digits, hyphens and "
                "underscores."
            )


class TypedConfirmForm(forms.Form):
    """A dangerous action confirmed by typing a given word (a slug, a username)."""

    confirmation = forms.CharField(
        label=_("Confirmation"),
        max_length=NAME_LENGTH + 50,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirmation"].help_text = _("Type “%(word)s” to confirm.") % {
            "word": expected
        }

    def clean_confirmation(self) -> str:
        value = str(self.cleaned_data["confirmation"]).strip()
        if value != self.expected:
            raise ValidationError(
                _("Type “%(word)s” exactly to confirm.") % {"word": self.expected},
                code="confirmation_mismatch",
            )
        return value


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.user.get_username()} ({obj.role.name})"


class TransferOwnershipForm(forms.Form):
    """Choose the new Owner and the role you keep; confirm with their username."""

    member = MemberChoiceField(label=_("New Owner"), queryset=Membership.objects.none())
    new_role = forms.ModelChoiceField(
        label=_("Your role afterwards"), queryset=Role.objects.none()
    )
    confirmation = forms.CharField(
        label=_("Confirmation"),
        max_length=254,
        help_text=_("Type the new Owner's username to confirm."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, organization: Organization, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = apikeys_settings.OWNER_ROLE
        member_field = cast(forms.ModelChoiceField, self.fields["member"])
        member_field.queryset = (
            Membership.objects.filter(organization=organization)
            .exclude(user_id=actor.pk)
            .exclude(role__name=owner)
            .select_related("user", "role")
            .order_by("user__username")
        )
        roles = Role.objects.exclude(name=owner).filter(
            pk__in=_grantable_roles(actor, organization)
        )
        role_field = cast(forms.ModelChoiceField, self.fields["new_role"])
        role_field.queryset = roles
        first = roles.first()  # highest rank first (Role's ordering)
        if first is not None:
            role_field.initial = first.pk

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        member = cleaned.get("member")
        typed = str(cleaned.get("confirmation") or "").strip()
        if member is not None and typed and typed != member.user.get_username():
            self.add_error(
                "confirmation",
                ValidationError(
                    _("Type “%(name)s” exactly to confirm.")
                    % {"name": member.user.get_username()},
                    code="confirmation_mismatch",
                ),
            )
        return cleaned


class InviteForm(forms.Form):
    """An e-mail address and a role the inviter may grant (the service checks again)."""

    email = forms.EmailField(label=_("E-mail address"), max_length=EMAIL_LENGTH)
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.none())

    def __init__(self, *args: Any, organization: Organization, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        roles = Role.objects.filter(pk__in=_grantable_roles(actor, organization))
        cast(forms.ModelChoiceField, self.fields["role"]).queryset = roles
        default = roles.filter(name=apikeys_settings.DEFAULT_ROLE).first()
        if default is not None:
            self.fields["role"].initial = default.pk
