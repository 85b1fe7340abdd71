"""Errors with stable codes, and the DRF exception handler that renders them.

Every error response keeps DRF's ``detail`` and adds a machine ``code`` and an
error ``type`` family::

    {"detail": "The API key has been revoked.", "code": "key_revoked",
     "type": "AuthenticationError"}

Install with ``REST_FRAMEWORK["EXCEPTION_HANDLER"] =
"django_apikeys.exceptions.exception_handler"``, or call it from the site's
own handler (``docs/coexistence.rst``). It renders this app's errors only;
every other error keeps DRF's answer.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .conf import apikeys_settings

AUTHENTICATION_ERROR = "AuthenticationError"
FORBIDDEN_ERROR = "ForbiddenError"
NOT_ENTITLED_ERROR = "NotEntitledError"
RATE_LIMIT_ERROR = "RateLimitError"
INVALID_REQUEST_ERROR = "InvalidRequestError"
NOT_FOUND_ERROR = "NotFoundError"
API_ERROR = "APIError"


_E = TypeVar("_E", bound="APIKeysError")


class APIKeysError:
    """Mixin: every error of this app carries an ``error_type`` family.

    ``credential`` is the key (or other credential) the refusal is about when
    it is known before ``request.auth`` is set (a revoked key, a key used
    from a wrong origin): usage analytics count the refusal against it.
    """

    error_type: str = API_ERROR
    default_code: str
    credential: Any = None

    def about(self: _E, credential: Any) -> _E:
        """Name the credential this error refuses; returns the error (``raise X().about(key)``)."""
        self.credential = credential
        return self


# --- 401 -------------------------------------------------------------------


class AuthenticationError(APIKeysError, drf_exceptions.AuthenticationFailed):
    error_type = AUTHENTICATION_ERROR


class NotAuthenticated(AuthenticationError):
    default_detail = _("Authentication credentials were not provided.")
    default_code = "not_authenticated"


class MissingBearerPrefix(AuthenticationError):
    default_detail = _(
        "The Authorization header must read “Bearer <key>”: the Bearer prefix is missing."
    )
    default_code = "missing_bearer_prefix"


class WrongAuthScheme(AuthenticationError):
    """``Authorization: <Scheme> <value>`` with a scheme nobody here accepts
    (``Token sk_...``, ``Basic ...``): the answer says which one to use.

    Raised by ``APIKeyAuthentication`` for a value carrying one of our keys;
    for any other value :func:`wrong_scheme_refusal` decides.
    """

    default_detail = _(
        "The Authorization header uses a scheme this API does not accept: "
        "send the API key as “Authorization: Bearer <key>”."
    )
    default_code = "wrong_auth_scheme"

    def __init__(self, scheme: str = "Bearer", detail: Any = None) -> None:
        if detail is None and scheme != "Bearer":
            detail = _(
                "The Authorization header uses a scheme this API does not accept: "
                "send the API key as “Authorization: %(scheme)s <key>”."
            ) % {"scheme": scheme}
        super().__init__(detail)

    @classmethod
    def configured(cls) -> WrongAuthScheme:
        """The refusal naming the first configured scheme (``Bearer`` by default)."""
        return cls(apikeys_settings.AUTHORIZATION_SCHEMES[0])


class InvalidKey(AuthenticationError):
    default_detail = _("Invalid API key.")
    default_code = "invalid_key"


class KeyRevoked(AuthenticationError):
    default_detail = _("This API key has been revoked.")
    default_code = "key_revoked"


class KeyExpired(AuthenticationError):
    default_detail = _("This API key has expired.")
    default_code = "key_expired"


class AmbiguousCredentials(AuthenticationError):
    """Two different credentials in one request: neither is chosen silently."""

    default_detail = _(
        "The request carries more than one credential (e.g. an Authorization header "
        "and an X-API-Key header with different keys); send exactly one."
    )
    default_code = "ambiguous_credentials"


class OrganizationDeactivated(AuthenticationError):
    default_detail = _(
        "The organization this credential belongs to has been deleted; "
        "its API keys no longer work."
    )
    default_code = "organization_deactivated"


class KeyInQuery(AuthenticationError):
    default_detail = _(
        "API keys are not accepted in the query string (it ends up in logs); "
        "send the key in the Authorization or X-API-Key header."
    )
    default_code = "key_in_query"


class TokenError(AuthenticationError):
    """An OAuth access token (``django_apikeys.oauth``) that is ours but bad.

    The 401 carries RFC 6750's ``WWW-Authenticate: Bearer error="invalid_token"``.
    """

    bearer_error = "invalid_token"


class InvalidToken(TokenError):
    default_detail = _("Invalid access token.")
    default_code = "invalid_token"


class TokenExpired(TokenError):
    default_detail = _("The access token has expired.")
    default_code = "token_expired"


class TokenRevoked(TokenError):
    default_detail = _("The access token has been revoked.")
    default_code = "token_revoked"


# --- 403 -------------------------------------------------------------------


class ForbiddenError(APIKeysError, drf_exceptions.PermissionDenied):
    error_type = FORBIDDEN_ERROR
    default_code = "permission_denied"


class WrongKeyType(ForbiddenError):
    default_detail = _("This type of API key cannot be used on this endpoint.")
    default_code = "wrong_key_type"


class SessionNotAllowed(WrongKeyType):
    """A signed-in browser session (no key sent) on an endpoint for keys only.

    The same code as :class:`WrongKeyType` (the session is the credential of
    the wrong kind), with a detail that does not talk about a key nobody sent.
    """

    default_detail = _(
        "This endpoint needs an API key: a signed-in browser session cannot use it. "
        "Send a key in the Authorization header."
    )


class InsufficientScope(ForbiddenError):
    default_detail = _("The credential lacks a scope this endpoint requires.")
    default_code = "insufficient_scope"

    def __init__(self, required_scopes: list[str], detail: Any = None) -> None:
        self.required_scopes = list(required_scopes)
        if detail is None:
            detail = _("Forbidden: missing scope(s) %(scopes)s.") % {
                "scopes": ", ".join(required_scopes)
            }
        super().__init__(detail)


class ReadOnlyKey(ForbiddenError):
    default_detail = _("This API key is read-only: only GET, HEAD and OPTIONS are allowed.")
    default_code = "read_only_key"


class OrganizationMismatch(ForbiddenError):
    default_detail = _("The organization in the request is not the credential's organization.")
    default_code = "organization_mismatch"


class OriginNotAllowed(ForbiddenError):
    default_detail = _("This API key may not be used from this origin.")
    default_code = "origin_not_allowed"


class IPNotAllowed(ForbiddenError):
    default_detail = _("This API key may not be used from this IP address.")
    default_code = "ip_not_allowed"


class OrganizationPermissionDenied(ForbiddenError):
    default_detail = _("Your role in this organization does not allow this action.")
    default_code = "permission_denied"


class NotEntitled(ForbiddenError):
    error_type = NOT_ENTITLED_ERROR
    default_detail = _("The organization's plan does not include this module.")
    default_code = "not_entitled"


# --- 400 / 429 -------------------------------------------------------------


class OrganizationRequired(APIKeysError, drf_exceptions.ParseError):
    error_type = INVALID_REQUEST_ERROR
    default_detail = _("This endpoint needs the organization header.")
    default_code = "organization_required"


class BodyTooDeep(APIKeysError, drf_exceptions.ParseError):
    """400 ``parse_error``: a JSON body nested so deeply that the decoder gives
    up (``RecursionError``): a client error, not a 500."""

    error_type = INVALID_REQUEST_ERROR
    default_detail = _("The request body is nested too deeply.")
    default_code = "parse_error"


class RateLimited(APIKeysError, drf_exceptions.Throttled):
    """429 ``rate_limited``; ``wait`` becomes ``Retry-After``.

    ``headers`` (``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset``) are
    copied onto the response by :func:`exception_handler`.
    """

    error_type = RATE_LIMIT_ERROR
    default_code = "rate_limited"
    wait: float | None  # set by DRF's Throttled

    def __init__(
        self,
        wait: float | None = None,
        detail: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(wait=wait, detail=detail, code=code)
        self.headers = dict(headers or {})


class RateLimitUnavailable(APIKeysError, drf_exceptions.APIException):
    """503 ``rate_limit_unavailable``: limits are fail-closed (``RATELIMIT_FAIL_OPEN``
    is false) and their cache cannot be reached; ``wait`` becomes ``Retry-After``."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    error_type = RATE_LIMIT_ERROR
    default_detail = _(
        "Rate limits cannot be checked right now (their cache is unavailable); retry shortly."
    )
    default_code = "rate_limit_unavailable"

    def __init__(self, wait: int = 5, detail: Any = None) -> None:
        super().__init__(detail)
        self.wait = wait


class PayloadTooLarge(APIKeysError, drf_exceptions.APIException):
    """413 ``payload_too_large``: the body exceeds ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "payload_too_large"


class PlaygroundUnavailable(APIKeysError, drf_exceptions.APIException):
    """503 ``playground_unavailable``: the playground cannot issue keys because
    ``PLAYGROUND_ORGANIZATION`` names an organization people belong to (the
    server logs why); anonymous keys never land in someone's organization."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The playground is unavailable right now; try again later.")
    default_code = "playground_unavailable"


class QuotaExhausted(RateLimited):
    """429 ``quota_exhausted``: the key's lifetime quota is used up; it never resets."""

    default_detail = _("This API key has used up its lifetime quota of requests.")
    default_code = "quota_exhausted"


# --- handler ---------------------------------------------------------------

_DRF_TYPES: tuple[tuple[type[Exception], str, str], ...] = (
    (drf_exceptions.NotAuthenticated, AUTHENTICATION_ERROR, "not_authenticated"),
    (drf_exceptions.AuthenticationFailed, AUTHENTICATION_ERROR, "authentication_failed"),
    (drf_exceptions.PermissionDenied, FORBIDDEN_ERROR, "permission_denied"),
    (drf_exceptions.Throttled, RATE_LIMIT_ERROR, "rate_limited"),
    (drf_exceptions.NotFound, NOT_FOUND_ERROR, "not_found"),
    (drf_exceptions.ValidationError, INVALID_REQUEST_ERROR, "invalid"),
    (drf_exceptions.ParseError, INVALID_REQUEST_ERROR, "parse_error"),
)


def _classify(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, APIKeysError):
        return exc.error_type, exc.default_code
    for klass, error_type, code in _DRF_TYPES:
        if isinstance(exc, klass):
            if klass is drf_exceptions.Throttled:
                return error_type, code
            codes = exc.get_codes() if isinstance(exc, drf_exceptions.APIException) else None
            return error_type, codes if isinstance(codes, str) else code
    if isinstance(exc, drf_exceptions.APIException):
        return API_ERROR, exc.default_code
    return API_ERROR, "error"


def _raised_while_parsing(exc: BaseException) -> bool:
    """Whether ``exc`` comes out of a request parser (a deeply nested JSON body
    makes the standard library's decoder raise ``RecursionError``): a 400 for
    the client, not a 500. A ``RecursionError`` from view code stays a 500."""
    traceback = exc.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("json", "rest_framework.parsers")):
            return True
        traceback = traceback.tb_next
    return False


#: The refusal families of usage analytics (``type`` values; others are "other").
REFUSAL_FAMILIES = (AUTHENTICATION_ERROR, FORBIDDEN_ERROR, NOT_ENTITLED_ERROR, RATE_LIMIT_ERROR)
#: Set on the Django request by ``APIKeyRateThrottle`` when it refuses it (the
#: ``RateLimited`` / ``QuotaExhausted`` error): DRF raises its own ``Throttled``,
#: which :func:`exception_handler` answers with this error's code and headers.
THROTTLE_REFUSAL_ATTR = "_apikeys_throttle_refusal"
#: Set on the Django request by the throttle once the request is metered as
#: admitted: an error the view raises afterwards is not also a refusal.
ADMITTED_ATTR = "_apikeys_admitted"
#: Set on the Django request by :func:`note_refusal`: the last refusal this
#: app's authentication, permission or throttle classes decided for it.
REFUSAL_ATTR = "_apikeys_refusal"


def _error_classes(base: type[APIKeysError] = APIKeysError) -> list[type[APIKeysError]]:
    classes: list[type[APIKeysError]] = []
    for klass in base.__subclasses__():
        classes.append(klass)
        classes.extend(_error_classes(klass))
    return classes


@functools.lru_cache(maxsize=512)
def refusal_family(code: str) -> str:
    """The ``type`` family of the refusal ``code`` (``"APIError"`` if unknown)."""
    for klass in _error_classes():
        if getattr(klass, "default_code", None) == code:
            return str(klass.error_type)
    for _klass, error_type, drf_code in _DRF_TYPES:
        if drf_code == code:
            return error_type
    return API_ERROR


def note_refusal(request: Any, error: APIKeysError) -> None:
    """Note on the Django request that this app refused it with ``error``.

    Called where the refusal is decided (the authentication classes, the
    permission classes, the throttle), so that neither the response body
    nor the usage analytics depend on which exception handler the site
    runs: :func:`exception_handler` renders a DRF ``PermissionDenied`` or
    ``Throttled`` raised for a noted refusal with this app's body, and
    :func:`django_apikeys.refusals.count` counts it once the response is
    known. ``request`` is DRF's ``Request`` or the ``HttpRequest``.
    """
    raw = getattr(request, "_request", request)
    if raw is not None:
        setattr(raw, REFUSAL_ATTR, error)


def noted_refusal(request: Any) -> APIKeysError | None:
    """The refusal :func:`note_refusal` noted on ``request``, if any."""
    raw = getattr(request, "_request", request)
    return getattr(raw, REFUSAL_ATTR, None)


def is_ours(authenticator: Any) -> bool:
    """Whether ``authenticator`` is one of this app's authentication classes
    (they set ``apikeys_authenticator = True``; so may a site's subclass)."""
    return bool(getattr(authenticator, "apikeys_authenticator", False))


def wrong_scheme_refusal(request: Any) -> WrongAuthScheme | None:
    """The ``wrong_auth_scheme`` refusal for a request no authenticator accepted.

    The rule (``docs/errors.rst``), when ``AUTHORIZATION_SCHEMES`` is not empty
    and the view lists one of this app's authentication classes:

    * ``Authorization: <Scheme> <value>`` whose value carries one of our keys
      is refused at once by ``APIKeyAuthentication``;
    * any other value under a scheme that is not ours is left to the other
      authentication classes (DRF's ``TokenAuthentication``,
      ``BasicAuthentication``...). Only when none of them authenticated the
      request, and none announces that scheme in its ``authenticate_header``,
      does the 401 that follows say ``wrong_auth_scheme`` instead of
      ``not_authenticated``. A scheme another class owns keeps that class's
      answer.

    Called by :func:`exception_handler` for DRF's ``NotAuthenticated``;
    returns ``None`` when the rule does not apply.
    """
    conf = apikeys_settings
    raw = getattr(request, "_request", request)
    parts = raw.META.get("HTTP_AUTHORIZATION", "").split()
    if not conf.authorization_schemes or len(parts) < 2:
        return None
    scheme = parts[0].lower()
    if scheme in conf.authorization_schemes:
        return None
    authenticators = getattr(request, "authenticators", None) or ()
    if not any(is_ours(authenticator) for authenticator in authenticators):
        return None  # a view of the site's own: its classes answer
    for authenticator in authenticators:
        announced = authenticator.authenticate_header(request)
        if announced and announced.split(None, 1)[0].lower() == scheme:
            return None
    return WrongAuthScheme.configured()


def throttle_refusal(exc: drf_exceptions.Throttled, request: Any) -> drf_exceptions.Throttled:
    """The app's refusal behind DRF's ``Throttled`` (``THROTTLE_REFUSAL_ATTR``),
    waiting as long as DRF says when another throttle refused too; else ``exc``."""
    refusal = getattr(getattr(request, "_request", request), THROTTLE_REFUSAL_ATTR, None)
    if not isinstance(refusal, RateLimited):
        return exc
    wait = getattr(exc, "wait", None)  # DRF's: the longest wait of the refusing throttles
    if wait is not None and refusal.wait is not None and wait > refusal.wait:
        refusal.wait = wait
    return refusal


def www_authenticate_header(error: str | None = None) -> str:
    """``Bearer realm="api"``, with RFC 6750's ``error="..."`` for token errors."""
    header = f'Bearer realm="{apikeys_settings.WWW_AUTHENTICATE_REALM}"'
    return f'{header}, error="{error}"' if error else header


def _raised_for(exc: Exception, refusal: APIKeysError) -> bool:
    """Whether DRF raised ``exc`` for the noted ``refusal``: DRF's
    ``PermissionDenied`` carrying the refusing permission's ``message`` and
    ``code`` (not the generic one of an ``|``/``&``/``~`` composition), or
    DRF's ``Throttled`` after this app's throttle said no."""
    if isinstance(exc, drf_exceptions.PermissionDenied):
        return (
            isinstance(refusal, drf_exceptions.PermissionDenied)
            and exc.get_codes() == refusal.get_codes()
            and str(exc.detail) == str(refusal.detail)
        )
    return isinstance(exc, drf_exceptions.Throttled) and isinstance(
        refusal, drf_exceptions.Throttled
    )


def _first_authenticator_is_ours(request: Any) -> bool:
    authenticators: Any = getattr(request, "authenticators", None) or ()
    return bool(authenticators) and is_ours(authenticators[0])


def _as_ours(exc: Exception, request: Any) -> Exception:
    """``exc``, or the error of this app it stands for."""
    if isinstance(exc, APIKeysError):
        return exc
    if type(exc) is drf_exceptions.Throttled and request is not None:
        throttled = throttle_refusal(exc, request)
        if throttled is not exc:  # the app's throttle refused (with the longest wait)
            return throttled
    if isinstance(exc, RecursionError) and _raised_while_parsing(exc):
        return BodyTooDeep()
    if request is None:
        return exc
    refusal = noted_refusal(request)
    if refusal is not None and _raised_for(exc, refusal):
        return refusal  # type: ignore[return-value]  # an APIException too
    if isinstance(exc, drf_exceptions.NotAuthenticated):
        wrong_scheme = wrong_scheme_refusal(request)
        if wrong_scheme is not None:
            return wrong_scheme
        if _first_authenticator_is_ours(request):  # DRF sent our challenge
            return NotAuthenticated(exc.detail)
    return exc


def _view_is_ours(view: Any) -> bool:
    """This app's own API views (management API, playground) answer every
    error in the app's format; a site's views only this app's errors."""
    return type(view).__module__.startswith("django_apikeys.")


def _keep_challenge(request: Any, response: Response) -> None:
    """A 401 another class decided keeps *that* class's challenge: DRF puts the
    first authenticator's, so a ``Basic`` refusal behind ``APIKeyAuthentication``
    would say ``Bearer``. The class that announces the scheme the client used
    is the one that refused it."""
    if response.status_code != status.HTTP_401_UNAUTHORIZED or request is None:
        return
    parts = getattr(request, "_request", request).META.get("HTTP_AUTHORIZATION", "").split()
    if not parts:
        return
    scheme = parts[0].lower()
    for authenticator in getattr(request, "authenticators", None) or ():
        announced = authenticator.authenticate_header(request)
        if announced and announced.split(None, 1)[0].lower() == scheme:
            response["WWW-Authenticate"] = announced
            return


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus this app's body for this app's errors.

    This app's errors (raised by its classes, or raised by DRF for a refusal
    its permission or throttle classes noted) get ``detail``, ``code`` and
    ``type``, and 401s the ``Bearer`` challenge. Everything else is answered
    exactly as DRF answers it — validation bodies unchanged, a session-only
    view's 403 kept — except that a 401 keeps the challenge of the class that
    owns the client's scheme (``Basic`` stays ``Basic``). This app's own
    views (management API, playground) answer every error in its format.

    A site with its own handler calls this one first::

        response = django_apikeys.exceptions.exception_handler(exc, context)

    Refusals are counted by ``RateLimitHeadersMiddleware``, not here.
    """
    request = context.get("request")
    exc = _as_ours(exc, request)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if not isinstance(exc, APIKeysError) and not _view_is_ours(context.get("view")):
        _keep_challenge(request, response)
        return response
    error_type, code = _classify(exc)
    if isinstance(exc, drf_exceptions.AuthenticationFailed):
        # DRF turns 401 into 403 when the first authenticator has no
        # authenticate_header; ours always answers 401 with the challenge.
        response.status_code = status.HTTP_401_UNAUTHORIZED
        response["WWW-Authenticate"] = www_authenticate_header(getattr(exc, "bearer_error", None))
    data = response.data
    if isinstance(exc, drf_exceptions.ValidationError):
        if isinstance(data, dict):
            data.setdefault("code", code)
            data.setdefault("type", error_type)
        return response
    detail = data.get("detail", "") if isinstance(data, dict) else data
    body: dict[str, Any] = {"detail": detail, "code": code, "type": error_type}
    if isinstance(exc, InsufficientScope):
        body["required_scopes"] = exc.required_scopes
    wait = getattr(exc, "wait", None) if isinstance(exc, drf_exceptions.Throttled) else None
    if wait is not None:
        body["retry_after"] = int(wait + 0.999)
    if isinstance(exc, RateLimitUnavailable):
        body["retry_after"] = exc.wait
        response["Retry-After"] = str(exc.wait)
    if isinstance(exc, RateLimited):
        for name, value in exc.headers.items():
            response[name] = value
    response.data = body
    return response
