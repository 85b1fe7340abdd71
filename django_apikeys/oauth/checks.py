"""System checks of the OAuth part (ids ``django_apikeys_oauth.E00x``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from .conf import ALGORITHMS, OAUTH2_PROVIDER_DEFAULTS, oauth_settings

#: DOT settings whose value this part depends on.
REQUIRED_DOT_SETTINGS = (
    "OAUTH2_VALIDATOR_CLASS",
    "OAUTH2_SERVER_CLASS",
    "ACCESS_TOKEN_GENERATOR",
    "REFRESH_TOKEN_GENERATOR",
    "PKCE_REQUIRED",
)


@register()
def check_oauth_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    if not oauth_settings.ISSUER:
        errors.append(
            Error(
                "APIKEYS_OAUTH['ISSUER'] is not set.",
                hint="Set it to the authorization server's URL, e.g. https://api.example.com.",
                id="django_apikeys_oauth.E001",
            )
        )
    try:
        if not oauth_settings.keys or oauth_settings.keys[0].private_key is None:
            raise ValueError("no signing key")
    except Exception as exc:
        errors.append(
            Error(
                f"APIKEYS_OAUTH['SIGNING_KEYS'] has no usable private key ({exc}).",
                hint="Give at least one {'kid': ..., 'private_key': '<PEM>'}; see docs/oauth.rst.",
                id="django_apikeys_oauth.E002",
            )
        )
    if oauth_settings.ALGORITHM not in ALGORITHMS:
        errors.append(
            Error(
                f"APIKEYS_OAUTH['ALGORITHM'] must be one of {', '.join(ALGORITHMS)}.",
                id="django_apikeys_oauth.E003",
            )
        )
    configured = getattr(settings, "OAUTH2_PROVIDER", {}) or {}
    wrong = [
        name
        for name in REQUIRED_DOT_SETTINGS
        if configured.get(name) != OAUTH2_PROVIDER_DEFAULTS[name]
    ]
    if wrong:
        errors.append(
            Error(
                f"OAUTH2_PROVIDER does not set {', '.join(wrong)} as django_apikeys.oauth needs.",
                hint="OAUTH2_PROVIDER = {**django_apikeys.oauth.conf.OAUTH2_PROVIDER_DEFAULTS}",
                id="django_apikeys_oauth.E004",
            )
        )
    return errors
