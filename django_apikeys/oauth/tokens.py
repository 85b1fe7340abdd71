"""JWT access tokens: minting (for django-oauth-toolkit) and offline verification.

Claims of every access token (documented in ``docs/oauth.rst``):

======== ==============================================================
``iss``  ``APIKEYS_OAUTH["ISSUER"]``
``sub``  the user's primary key (a string)
``aud``  ``APIKEYS_OAUTH["AUDIENCE"]`` (default: the issuer)
``client_id`` the OAuth app's client id
``exp``, ``iat`` expiry and issue time (seconds since the epoch)
``jti``  a unique token id
``scope`` the granted scopes, space-separated (``resource:action``)
``org``  the organization picked at consent (its UUID); the name is
         ``APIKEYS_OAUTH["ORGANIZATION_CLAIM"]`` (e.g. ``organizationId``)
``grant`` the authorization (token family) the token belongs to
======== ==============================================================

The header names the signing key (``kid``) as published in the JWKS.
:func:`verify` needs no database: signature, algorithm, ``kid``, ``iss``,
``aud``, ``exp`` and the claims' shapes.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms

from django_apikeys import exceptions

from .conf import FIXED_CLAIMS, oauth_settings


def looks_like_jwt(value: str) -> bool:
    """Three dot-separated parts, the first a base64url JSON object (``eyJ``)."""
    return value.count(".") == 2 and value.startswith("eyJ")


def sign(claims: dict[str, Any]) -> str:
    key = oauth_settings.active_key
    return jwt.encode(
        claims,
        key.private_key,
        algorithm=oauth_settings.ALGORITHM,
        headers={"kid": key.kid, "typ": "at+jwt"},
    )


def generate_access_token(request: Any, refresh_token: bool = False) -> str:
    """django-oauth-toolkit's ``ACCESS_TOKEN_GENERATOR``: a signed JWT.

    ``request`` is oauthlib's request after the grant was validated: the
    validator put the authorization on it as ``apikeys_grant``.
    """
    grant = getattr(request, "apikeys_grant", None)
    if grant is None:
        # Only the authorization-code and refresh grants are enabled; both set it.
        from oauthlib.oauth2 import InvalidGrantError

        raise InvalidGrantError(request=request)
    now = int(time.time())
    expires_in = int(getattr(request, "expires_in", None) or 3600)
    claims = {
        "iss": oauth_settings.ISSUER,
        "sub": str(grant.user_id),
        "aud": oauth_settings.audience,
        "client_id": request.client.client_id,
        "iat": now,
        "exp": now + expires_in,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(request.scopes or []),
        oauth_settings.organization_claim: str(grant.organization_id),
        "grant": str(grant.pk),
    }
    return sign(claims)


#: token -> its verified claims: the signature of a token seen before is not
#: checked again (expiry is, every time). Bounded; emptied when settings change.
_verified: dict[str, dict[str, Any]] = {}
_VERIFIED_MAX = 10_000


def clear_verified() -> None:
    _verified.clear()


def verify(token: str) -> dict[str, Any]:
    """The claims of a valid access token, or ``InvalidToken`` / ``TokenExpired``.
    The organization is under ``org`` whatever ``ORGANIZATION_CLAIM`` names it.

    No database access. The algorithm is the configured one only (``alg:
    none`` or HS256 with the public key as secret are refused), the ``kid``
    must be a configured key. A token verified before in this process skips
    the signature check (its claims are remembered; ``exp`` is checked anew).
    """
    claims = _verified.get(token)
    if claims is None:
        claims = _verify_signature(token)
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()  # bounded memory; the cost is one signature check each
        _verified[token] = claims
    now, leeway = time.time(), oauth_settings.LEEWAY
    if claims["exp"] <= now - leeway:
        raise exceptions.TokenExpired()
    if claims["iat"] > now + leeway + 60:  # issued in the future: not by a sane clock of ours
        raise exceptions.InvalidToken()
    return dict(claims)


def _verify_signature(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise exceptions.InvalidToken() from None
    algorithm = oauth_settings.ALGORITHM
    org = oauth_settings.organization_claim
    key = oauth_settings.keys_by_kid.get(str(header.get("kid")))
    if key is None or header.get("alg") != algorithm:
        raise exceptions.InvalidToken()
    try:
        claims = jwt.decode(
            token,
            key.public_key,
            algorithms=[algorithm],
            audience=oauth_settings.audience,
            issuer=oauth_settings.ISSUER,
            options={"verify_exp": False, "verify_iat": False, "require": [*FIXED_CLAIMS, org]},
        )
    except jwt.PyJWTError:
        raise exceptions.InvalidToken() from None
    # Callers read the organization as "org", whatever its name on the wire.
    claims["org"] = claims[org]
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise exceptions.InvalidToken()
    if not all(isinstance(claims.get(name), str) for name in ("sub", "jti", "scope", "org")):
        raise exceptions.InvalidToken()
    try:
        claims["grant"] = uuid.UUID(str(claims["grant"]))
        uuid.UUID(claims["org"])
    except ValueError:
        raise exceptions.InvalidToken() from None
    return claims


def jwks() -> dict[str, Any]:
    """The public keys as a JSON Web Key Set (RFC 7517), each with its ``kid``."""
    import json

    algorithm = oauth_settings.ALGORITHM
    implementation = get_default_algorithms()[algorithm]
    keys = []
    for key in oauth_settings.keys:
        jwk = json.loads(implementation.to_jwk(key.public_key))
        jwk.update(kid=key.kid, use="sig", alg=algorithm)
        keys.append(jwk)
    return {"keys": keys}
