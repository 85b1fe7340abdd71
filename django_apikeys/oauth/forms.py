"""Forms of the OAuth part: the consent form and the app registration form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from oauth2_provider.forms import AllowForm

from django_apikeys.models import Organization
from django_apikeys.scopes import normalize_scopes

from . import services
from .server import authorization_parameter_error


class ConsentForm(AllowForm):
    """DOT's hidden fields plus the organization the token will act on."""

    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        label=_("Organization"),
        empty_label=None,
        required=False,
        widget=forms.RadioSelect,
    )

    def clean(self) -> dict[str, Any]:
        # The hidden fields come back from the browser: a tampered challenge or
        # nonce would reach the grant's columns (a 500 on PostgreSQL).
        cleaned = super().clean() or {}
        problem = authorization_parameter_error(
            cleaned.get("code_challenge") or None, cleaned.get("nonce") or None
        )
        if problem:
            raise forms.ValidationError(problem, code="invalid_request")
        return cleaned

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.filter(  # type: ignore[attr-defined]
            memberships__user_id=getattr(user, "pk", None), deactivated_at__isnull=True
        ).order_by("name")


class AppForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    redirect_uris = forms.CharField(
        label=_("Redirect URIs"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line; matched exactly, except that http://127.0.0.1 and http://[::1] "
            "match any port (RFC 8252). https only, except for localhost."
        ),
    )
    client_type = forms.ChoiceField(
        label=_("Client type"),
        choices=[
            ("confidential", _("Confidential (a server that keeps a client secret)")),
            ("public", _("Public (a browser or mobile app: PKCE, no secret)")),
        ],
        initial="confidential",
        widget=forms.RadioSelect,
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes the app may request"),
        widget=forms.CheckboxSelectMultiple,
        choices=[],
    )

    def __init__(self, *args: Any, organization: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.user = user
        self.fields["scopes"].choices = [  # type: ignore[attr-defined]
            (s, s) for s in services.vocabulary()
        ]

    def clean_scopes(self) -> list[str]:
        return normalize_scopes(self.cleaned_data.get("scopes") or [])
