"""Settings of the OAuth part: ``settings.APIKEYS_OAUTH``, read through ``oauth_settings``.

Same discipline as :mod:`django_apikeys.conf`: every key optional except
``ISSUER`` and ``SIGNING_KEYS`` (system checks say so), unknown keys raise,
nothing is read at import time, and the object reloads on ``setting_changed``.

Token lifetimes, PKCE and refresh-token rotation are django-oauth-toolkit's
own settings (``OAUTH2_PROVIDER``); :data:`OAUTH2_PROVIDER_DEFAULTS` is the
configuration this part needs, to spread into it::

    from django_apikeys.oauth.conf import OAUTH2_PROVIDER_DEFAULTS
    OAUTH2_PROVIDER = {**OAUTH2_PROVIDER_DEFAULTS}
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

#: django-oauth-toolkit settings this part relies on (a module constant: safe to
#: import from a settings file).
OAUTH2_PROVIDER_DEFAULTS: dict[str, Any] = {
    "OAUTH2_VALIDATOR_CLASS": "django_apikeys.oauth.validators.OAuth2Validator",
    "OAUTH2_SERVER_CLASS": "django_apikeys.oauth.server.Server",
    "SCOPES_BACKEND_CLASS": "django_apikeys.oauth.scopes.OrganizationScopes",
    "ACCESS_TOKEN_GENERATOR": "django_apikeys.oauth.tokens.generate_access_token",
    # Without this, oauthlib would make refresh tokens with the JWT generator too.
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": 60 * 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 60 * 60,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "REQUEST_APPROVAL_PROMPT": "force",
    "CLIENT_SECRET_GENERATOR_LENGTH": 48,
}

DEFAULTS: dict[str, Any] = {
    # The "iss" of every token and of the RFC 8414 metadata, e.g. "https://api.example.com".
    "ISSUER": None,
    # The "aud" of every token (the resource server's identifier); None: ISSUER.
    "AUDIENCE": None,
    # Signing keys, newest first: [{"kid": "2026-01", "private_key": "<PEM>"}] or
    # {"kid": ..., "private_key_file": "/path/key.pem"}. The first signs; all are
    # published in the JWKS and accepted.
    "SIGNING_KEYS": [],
    # Retired keys still accepted (and published) until their tokens expired:
    # [{"kid": "2025-12", "public_key": "<PEM>"}] (or "public_key_file").
    "VERIFICATION_KEYS": [],
    "ALGORITHM": "RS256",  # RS256, ES256 or EdDSA (must match the keys)
    "LEEWAY": 0,  # seconds of clock skew tolerated on exp / iat
    # The credential kind of access tokens for HasKeyType / allowed_key_types.
    "CREDENTIAL_KIND": "oauth",
    # The claim that carries the organization picked at consent (its UUID),
    # e.g. "organizationId" for clients that read it under that name.
    "ORGANIZATION_CLAIM": "org",
    # Per-app rate limits (0 = APIKEYS' DEFAULT_RATE_LIMIT_PER_*); the
    # organization's plan limits apply as for keys.
    "RATE_LIMIT_PER_MINUTE": 0,
    "RATE_LIMIT_PER_DAY": 0,
    # Plain words for scopes on the consent page: {"clients:read": "See your clients"}.
    "SCOPE_DESCRIPTIONS": {},
    # Seconds between two "last used" writes per authorization.
    "LAST_USED_INTERVAL": 60,
}

ALGORITHMS = ("RS256", "ES256", "EdDSA")

#: Access-token claims whose names are fixed; the organization claim is named
#: by ``ORGANIZATION_CLAIM``.
FIXED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti", "scope", "grant", "client_id")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Any  # a cryptography private key, or None for verification-only keys
    public_key: Any


def _pem(spec: dict[str, Any], name: str) -> bytes:
    if spec.get(name):
        value = spec[name]
        return value.encode() if isinstance(value, str) else bytes(value)
    path = spec.get(f"{name}_file")
    if path:
        return Path(path).read_bytes()
    raise ImproperlyConfigured(f"APIKEYS_OAUTH key {spec.get('kid')!r} needs {name!r}.")


class OAuthSettings:
    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "APIKEYS_OAUTH", {}) or {}
        unknown = set(value) - set(DEFAULTS)
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown APIKEYS_OAUTH settings: {', '.join(sorted(unknown))}."
            )
        return value  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        if name not in self._cache:
            self._cache[name] = self.user_settings.get(name, DEFAULTS[name])
        return self._cache[name]

    @property
    def organization_claim(self) -> str:
        """``ORGANIZATION_CLAIM``, refused when it would shadow another claim."""
        name = self.ORGANIZATION_CLAIM
        if not isinstance(name, str) or not name.strip() or name in FIXED_CLAIMS:
            raise ImproperlyConfigured(
                "APIKEYS_OAUTH['ORGANIZATION_CLAIM'] must be a claim name other than "
                f"{', '.join(FIXED_CLAIMS)}."
            )
        return name

    @property
    def audience(self) -> str:
        return str(self.AUDIENCE or self.ISSUER or "")

    @cached_property
    def keys(self) -> list[SigningKey]:
        """Signing keys (first = active) then verification-only keys, parsed once."""
        from cryptography.hazmat.primitives.serialization import (
            load_pem_private_key,
            load_pem_public_key,
        )

        result = []
        for spec in self.SIGNING_KEYS:
            private = load_pem_private_key(_pem(spec, "private_key"), password=None)
            result.append(SigningKey(str(spec["kid"]), private, private.public_key()))
        for spec in self.VERIFICATION_KEYS:
            public = load_pem_public_key(_pem(spec, "public_key"))
            result.append(SigningKey(str(spec["kid"]), None, public))
        return result

    @cached_property
    def keys_by_kid(self) -> dict[str, SigningKey]:
        return {key.kid: key for key in self.keys}

    @property
    def active_key(self) -> SigningKey:
        keys = self.keys
        if not keys or keys[0].private_key is None:
            raise ImproperlyConfigured("APIKEYS_OAUTH['SIGNING_KEYS'] is empty.")
        return keys[0]

    def reload(self) -> None:
        from . import tokens

        tokens.clear_verified()
        self._cache.clear()
        for name in ("keys", "keys_by_kid"):
            self.__dict__.pop(name, None)


oauth_settings = OAuthSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in ("APIKEYS_OAUTH", "APIKEYS"):
        oauth_settings.reload()


setting_changed.connect(_reload, dispatch_uid="apikeys_oauth_settings_changed")
