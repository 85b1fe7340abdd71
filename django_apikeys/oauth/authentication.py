"""DRF authentication for the JWT access tokens, beside ``APIKeyAuthentication``.

``OAuthTokenAuthentication`` reads ``Authorization: Bearer <value>``:

* a value shaped like an API key (a configured prefix) is not ours: ``None``,
  so ``APIKeyAuthentication`` (listed after it) judges it;
* a JWT is verified offline (signature, ``alg``, ``kid``, ``iss``, ``aud``,
  ``exp``) — a malformed or badly signed token costs no query — then its
  authorization is checked live: one indexed query, none with the lookup
  cache (``APIKEYS["KEY_CACHE_TIMEOUT"]``);
* anything else is 401 ``invalid_token`` with ``WWW-Authenticate: Bearer
  error="invalid_token"`` — unless ``APIKEYS["CLAIM_ALL_BEARER_TOKENS"]`` is
  ``True``: the key class then answers ``invalid_key`` for it.

On success ``request.user`` is the user, ``request.auth`` an
:class:`OAuthAccessToken` (a :class:`~django_apikeys.credentials.Credential`:
every permission class treats it like a user key) and
``request.organization`` the organization stamped at consent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from django_apikeys import exceptions
from django_apikeys.conf import apikeys_settings
from django_apikeys.credentials import Credential
from django_apikeys.tenancy import organization_from_header, organization_from_url
from django_apikeys.throttling import require_counting

from . import services, tokens
from .conf import oauth_settings

if TYPE_CHECKING:
    from .models import OAuthGrant


class OAuthAccessToken(Credential):
    """``request.auth`` for an OAuth access token: its claims and its live authorization."""

    def __init__(self, claims: dict[str, Any], grant: OAuthGrant) -> None:
        self.claims = claims
        self.jti: str = claims["jti"]
        self.client_id: str = claims["client_id"]
        self.grant = grant
        self.key_type = oauth_settings.CREDENTIAL_KIND
        self.scopes = claims["scope"].split()
        self.user = grant.user
        self.user_id = grant.user_id
        self.organization = grant.organization
        self.organization_id = grant.organization_id
        self.member_permissions = getattr(grant, "member_permissions", None)
        self.member_scopes = getattr(grant, "member_scopes", None)
        self.hint = f"oauth:{self.client_id[:8]}…"
        self.rate_limit_key = f"oauth:{self.client_id}"
        self.rate_limit_per_minute = int(oauth_settings.RATE_LIMIT_PER_MINUTE or 0)
        self.rate_limit_per_day = int(oauth_settings.RATE_LIMIT_PER_DAY or 0)

    @property
    def expires_at(self) -> Any:
        import datetime

        return datetime.datetime.fromtimestamp(self.claims["exp"], tz=datetime.timezone.utc)

    def __repr__(self) -> str:
        return (
            f"<OAuthAccessToken jti={self.jti} client={self.client_id} org={self.organization_id}>"
        )


def _raw(request: Request) -> Any:
    return getattr(request, "_request", request)


class OAuthTokenAuthentication(BaseAuthentication):
    """Before or after ``APIKeyAuthentication``: key-shaped values are passed
    on to it (list it first when ``CLAIM_ALL_BEARER_TOKENS`` is on)."""

    #: This app's errors, body and challenge (``exceptions.is_ours``).
    apikeys_authenticator = True

    def authenticate(self, request: Request) -> tuple[Any, OAuthAccessToken] | None:
        try:
            return self._authenticate(request)
        except APIException as exc:
            if isinstance(exc, exceptions.APIKeysError):
                exceptions.note_refusal(request, exc)  # usage analytics, whatever the handler
            raise

    def _authenticate(self, request: Request) -> tuple[Any, OAuthAccessToken] | None:
        header = _raw(request).META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return None  # no value or several: the key class explains
        value = parts[1]
        if apikeys_settings.parser.looks_like_key(value):
            return None
        if not tokens.looks_like_jwt(value):
            if apikeys_settings.CLAIM_ALL_BEARER_TOKENS:
                return None  # the key class claims every Bearer value: invalid_key
            raise exceptions.InvalidToken()
        meta = _raw(request).META
        if any(meta.get(name, "").strip() for name in apikeys_settings.header_meta_names):
            raise exceptions.AmbiguousCredentials()  # a token and a key: neither is chosen
        claims = tokens.verify(value)
        grant = services.fetch_grant(claims["grant"])
        if grant is None or str(grant.organization_id) != claims["org"]:
            raise exceptions.TokenRevoked()
        if str(grant.user_id) != claims["sub"]:
            raise exceptions.InvalidToken()
        if grant.revoked_at is not None:
            raise exceptions.TokenRevoked()
        if getattr(grant.organization, "deactivated_at", None) is not None:
            raise exceptions.TokenRevoked(_("The token's organization has been deleted."))
        if getattr(grant, "member_permissions", None) is None:
            raise exceptions.TokenRevoked(
                _("The user is no longer a member of the token's organization.")
            )
        if grant.user is None or not grant.user.is_active:
            raise exceptions.TokenRevoked(_("The token's user is no longer active."))
        token = OAuthAccessToken(claims, grant)
        self.check_tenant(request, token)
        services.touch_last_used(grant, timezone.now())
        require_counting(request)  # limits and metering on every view
        return grant.user, token

    def check_tenant(self, request: Request, token: OAuthAccessToken) -> None:
        """The token's organization is the request's; another one named in the
        organization header or the URL is 403 ``organization_mismatch``."""
        raw = _raw(request)
        organization = token.organization
        named = organization_from_header(raw)
        if named is not None and not named.matches(organization):
            raise exceptions.OrganizationMismatch()
        context = getattr(request, "parser_context", None) or {}
        in_url = organization_from_url(context.get("kwargs") or {})
        if in_url is not None and not in_url.matches(organization):
            raise exceptions.OrganizationMismatch()
        raw.organization = organization

    def authenticate_header(self, request: Request) -> str:
        return exceptions.www_authenticate_header()
