"""DRF authentication: credential extraction, key resolution and the tenant
guard of the pipeline (described once, in ``docs/architecture.rst``).

``APIKeyAuthentication.authenticate()`` returns ``None`` when the request
carries no credential of ours, raises an ``AuthenticationError`` with a
stable code when it carries a bad one, and otherwise returns
``(principal, api_key)``:

* ``request.auth`` is the :class:`~django_apikeys.models.APIKey`;
* ``request.user`` is the key's user for user keys, else an
  :class:`APIKeyPrincipal` (``is_authenticated`` is true, it is no database
  user);
* ``request.organization`` is the key's organization.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from . import exceptions, services, signals
from .abstract import AbstractAPIKey
from .conf import apikeys_settings
from .keys import display_hint
from .middleware import WARNING_HEADERS_ATTR
from .models import APIKey
from .networks import client_ip, ip_allowed
from .origins import origin_allowed
from .tenancy import organization_from_header, organization_from_url
from .throttling import require_counting

if TYPE_CHECKING:
    from .models import Organization

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

logger = logging.getLogger("django_apikeys")

#: The ``QUERY_KEY_WARNING_HEADER`` value (ASCII: it is an HTTP header).
QUERY_KEY_WARNING = (
    "API key sent in the query string, where it ends up in logs; "
    "send it in the Authorization header instead."
)


class APIKeyPrincipal:
    """``request.user`` for organization-owned keys.

    Authenticated (so ``IsAuthenticated`` passes) but never a database user:
    no primary key, no permissions of its own, nothing to save.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    username = ""

    def __init__(self, api_key: AbstractAPIKey) -> None:
        self.api_key = api_key
        self.organization = api_key.organization

    def __str__(self) -> str:
        return f"API key {self.api_key.hint}"

    def __repr__(self) -> str:
        return f"<APIKeyPrincipal {self.api_key.hint} org={self.organization.pk}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, APIKeyPrincipal) and other.api_key.pk == self.api_key.pk

    def __hash__(self) -> int:
        return hash(self.api_key.pk)

    def get_username(self) -> str:
        return ""

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("APIKeyPrincipal is not a database user and cannot be saved.")

    def delete(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("APIKeyPrincipal is not a database user and cannot be deleted.")


def _raw_request(request: Request | HttpRequest) -> HttpRequest:
    return getattr(request, "_request", request)


# -- another Authorization scheme (``wrong_auth_scheme``) ---------------------


@sensitive_variables("value", "decoded")
def _carries_key(scheme: str, value: str) -> bool:
    """Whether ``<scheme> <value>`` carries one of our keys: the value is
    key-shaped, or (``Basic``) the user name or password inside it is, as
    clients that copy Stripe's ``curl -u sk_...:`` send it. Such a value is
    refused with ``wrong_auth_scheme`` at once; for any other value see
    :func:`django_apikeys.exceptions.wrong_scheme_refusal`."""
    parser = apikeys_settings.parser
    if parser.looks_like_key(value):
        return True
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return any(parser.looks_like_key(part.strip()) for part in decoded.split(":", 1))


class APIKeyAuthentication(BaseAuthentication):
    """Authenticate ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

    Subclass and set ``model`` to use your own concrete key model.
    """

    model: type[AbstractAPIKey] = APIKey
    #: This app's errors, body and challenge (``exceptions.is_ours``).
    apikeys_authenticator = True

    # -- credential extraction: which header carries the key ----------------

    @sensitive_variables("raw", "value")
    def get_raw_key(self, request: Request) -> str | None:
        """Return the raw key from the request, ``None`` if none of ours.

        Raises ``MissingBearerPrefix``, ``InvalidKey`` or ``KeyInQuery`` for a
        credential that is ours but malformed.
        """
        meta = _raw_request(request).META
        conf = apikeys_settings
        authorization = meta.get("HTTP_AUTHORIZATION")
        raw = None
        # A Bearer credential that is not ours (OAuth, JWT) still counts as one.
        bearer = False
        if authorization and conf.authorization_schemes:
            raw = self._from_authorization(authorization)
            bearer = (
                raw is not None
                or (authorization.split(None, 1)[:1] or [""])[0].lower()
                in conf.authorization_schemes
            )
        for name in conf.header_meta_names:
            value = meta.get(name)
            if value is not None:
                value = value.strip()
                if bearer or raw is not None:
                    if value != raw:  # two credentials: refuse rather than pick one
                        raise exceptions.AmbiguousCredentials()
                    continue
                if not value:
                    raise exceptions.InvalidKey()
                raw = value
        param = conf.QUERY_PARAM
        if param and (raw is None or conf.ALLOW_KEY_IN_QUERY) and meta.get("QUERY_STRING"):
            value = _raw_request(request).GET.get(param)
            if value is not None:
                if not conf.ALLOW_KEY_IN_QUERY:
                    raise exceptions.KeyInQuery()
                value = value.strip()
                if raw is not None or bearer:
                    if value != raw:
                        raise exceptions.AmbiguousCredentials()
                elif value:
                    self.warn_key_in_query(request, value)
                    raw = value
        return raw

    @sensitive_variables("raw_key")
    def warn_key_in_query(self, request: Request, raw_key: str) -> None:
        """A key accepted from the query string (``ALLOW_KEY_IN_QUERY``):
        discouraged, not refused. Log a warning naming the key by its hint
        only, and ask ``RateLimitHeadersMiddleware`` to add
        ``QUERY_KEY_WARNING_HEADER`` to the response."""
        conf = apikeys_settings
        hint = "(not a key)"
        if conf.parser(raw_key) is not None:
            hint = display_hint(raw_key, conf.SEPARATOR)
        raw = _raw_request(request)
        logger.warning(
            "API key %s was sent in the %r query parameter (%s %s); clients should use "
            "the Authorization header.",
            hint,
            conf.QUERY_PARAM,
            raw.method,
            raw.path,
        )
        if conf.QUERY_KEY_WARNING_HEADER:
            headers = raw.__dict__.setdefault(WARNING_HEADERS_ATTR, {})
            headers[conf.QUERY_KEY_WARNING_HEADER] = QUERY_KEY_WARNING

    @sensitive_variables("header", "parts", "scheme", "token")
    def _from_authorization(self, header: str) -> str | None:
        conf = apikeys_settings
        parts = header.split()
        if not parts:
            return None
        scheme = parts[0]
        if scheme.lower() in conf.authorization_schemes:
            if len(parts) != 2:
                raise exceptions.InvalidKey(
                    exceptions.InvalidKey.default_detail
                    if len(parts) > 2
                    else "No API key after the Bearer prefix."
                )
            token = parts[1]
            if not conf.CLAIM_ALL_BEARER_TOKENS and not conf.parser.looks_like_key(token):
                return None  # someone else's Bearer token (OAuth, JWT)
            return token
        if len(parts) == 1 and conf.parser.looks_like_key(scheme):
            raise exceptions.MissingBearerPrefix()
        if len(parts) == 2 and _carries_key(scheme, parts[1]):
            # No other authentication class can accept one of our keys.
            raise exceptions.WrongAuthScheme.configured()
        return None

    # -- key resolution and the tenant guard --------------------------------

    @sensitive_variables("raw_key")
    def authenticate(self, request: Request) -> tuple[Any, AbstractAPIKey] | None:
        raw_key = None
        try:
            raw_key = self.get_raw_key(request)
            if raw_key is None:
                return None
            address = client_ip(_raw_request(request))
            api_key = services.resolve_key(raw_key, self.model, address)
        except APIException as exc:
            if isinstance(exc, exceptions.AuthenticationError):
                self._failed(request, exc, raw_key)
            if isinstance(exc, exceptions.APIKeysError):
                exceptions.note_refusal(request, exc)  # usage analytics, whatever the handler
            raise
        user = api_key.user if api_key.user_id is not None else self.get_principal(api_key)
        try:
            # A member-scoped key comes back as it acts in the named organization.
            api_key = self.check_tenant(request, api_key) or api_key
            self.check_origin(request, api_key)
            self.check_ip(request, api_key, address)
            self.check_method(request, api_key)
        except APIException as exc:  # usage analytics count it against the key
            if isinstance(exc, exceptions.APIKeysError):
                exceptions.note_refusal(request, exc.about(api_key))
            raise
        require_counting(request, self.model)  # limits, quota and metering on every view
        return user, api_key

    def get_principal(self, api_key: AbstractAPIKey) -> Any:
        return apikeys_settings.PRINCIPAL_CLASS(api_key)

    def check_tenant(self, request: Request, api_key: AbstractAPIKey) -> AbstractAPIKey:
        """Tenant resolution and the IDOR guard; return the key as it acts.

        A pinned key's organization is the request's, and one named in the
        organization header or in the URL must be it (for every view, whether
        or not it lists ``OrganizationMatchesURL``). A member-scoped user key
        acts in the organization named (URL first, then header; both must
        agree) if its owner belongs to it, see
        :func:`~django_apikeys.services.act_in_organization`."""
        raw = _raw_request(request)
        named = organization_from_header(raw)
        context = getattr(request, "parser_context", None) or {}
        in_url = organization_from_url(context.get("kwargs") or {})
        acting = services.act_in_organization(api_key, in_url or named)
        organization: Organization = acting.organization
        for ref in (named, in_url):
            if ref is not None and not ref.matches(organization):
                raise exceptions.OrganizationMismatch()
        raw.organization = organization  # type: ignore[attr-defined]
        return acting

    def check_origin(self, request: Request, api_key: AbstractAPIKey) -> None:
        """A key with ``allowed_origins`` works only from those browser origins.

        Deny by default: a request without an ``Origin`` header is refused too.
        """
        allowed = api_key.allowed_origins
        if allowed != [] and not origin_allowed(
            _raw_request(request).META.get("HTTP_ORIGIN"), allowed
        ):
            raise exceptions.OriginNotAllowed()

    def check_ip(self, request: Request, api_key: AbstractAPIKey, address: str | None) -> None:
        """A key with ``allowed_ips`` works only from those addresses and networks
        (the client address as :func:`~django_apikeys.networks.client_ip` sees it).

        Deny by default: an unknown client address is refused too.
        """
        allowed = api_key.allowed_ips
        if allowed != [] and not ip_allowed(address, allowed):
            raise exceptions.IPNotAllowed()

    def check_method(self, request: Request, api_key: AbstractAPIKey) -> None:
        """Read-only key types (test tiers) may only use safe methods."""
        kt = apikeys_settings.key_type(api_key.key_type)
        if kt is not None and kt.read_only and request.method not in SAFE_METHODS:
            raise exceptions.ReadOnlyKey()

    @sensitive_variables("raw_key")
    def _failed(self, request: Request, exc: Exception, raw_key: str | None) -> None:
        hint = ""
        if raw_key and apikeys_settings.parser(raw_key) is not None:
            hint = display_hint(raw_key, apikeys_settings.SEPARATOR)
        signals.api_key_authentication_failed.send(
            sender=type(self),
            request=request,
            code=getattr(exc, "default_code", "invalid_key"),
            hint=hint,
        )

    def authenticate_header(self, request: Request) -> str:
        return exceptions.www_authenticate_header()
