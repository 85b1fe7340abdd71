"""System checks of the OAuth part (ids ``django_apikeys_oauth.E00x`` and ``W00x``)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from .conf import ALGORITHMS, OAUTH2_PROVIDER_DEFAULTS, oauth_settings

#: DOT settings whose value this part depends on.
REQUIRED_DOT_SETTINGS = (
    "OAUTH2_VALIDATOR_CLASS",
    "OAUTH2_SERVER_CLASS",
    "ACCESS_TOKEN_GENERATOR",
    "REFRESH_TOKEN_GENERATOR",
    "PKCE_REQUIRED",
)


#: SHA-256 of the public keys (DER SubjectPublicKeyInfo) of the example
#: project's signing keys, whose private halves are published with the code.
EXAMPLE_KEY_FINGERPRINTS = frozenset(
    {
        "b7e43cbf19454143d370f95f52f43836b78c39bb2f0678e7959d5098049a2711",
        "93d958affb2755037ce5561e7762e055847981ffda3570d87e20323d436fa881",
    }
)


def key_fingerprint(public_key: Any) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


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
    else:
        errors.extend(_check_example_keys())
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


def _check_example_keys() -> list[Any]:
    """W001: a site (``DEBUG = False``) signing with the example project's key,
    whose private half anyone can download: anyone can forge its tokens."""
    if settings.DEBUG:
        return []
    shipped = [
        key.kid
        for key in oauth_settings.keys
        if key.private_key is not None
        and key_fingerprint(key.public_key) in EXAMPLE_KEY_FINGERPRINTS
    ]
    if not shipped:
        return []
    return [
        Warning(
            f"APIKEYS_OAUTH['SIGNING_KEYS'] uses the example project's published key "
            f"({', '.join(shipped)}): anyone can sign access tokens this site accepts.",
            hint="Generate your own key (openssl genpkey -algorithm RSA -pkeyopt "
            "rsa_keygen_bits:2048) and keep it out of the repository; see docs/oauth.rst.",
            id="django_apikeys_oauth.W001",
        )
    ]
