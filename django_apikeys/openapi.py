"""drf-spectacular integration: the app's credentials, scopes and errors in the schema.

Imported by ``DjangoAPIKeysConfig.ready()`` when drf-spectacular is
installed (it is no dependency of the core: ``pip install
django-apikeys[openapi]``), which registers :class:`APIKeyScheme`, the
``OpenApiAuthenticationExtension`` for
:class:`~django_apikeys.authentication.APIKeyAuthentication`. With it alone
every operation lists the key credentials (``Authorization: Bearer`` and the
``APIKEYS["KEY_HEADERS"]``) as alternatives, and, in OpenAPI 3.1, the scopes
it requires on each.

Set ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "django_apikeys.openapi.AutoSchema"``
for the rest: per operation an ``x-apikeys`` object (key types, scopes,
entitlement, role permission) and the same in words in the description, and
the 401/403/429 (and 400 for request bodies) responses with the app's error
body and the codes that operation can answer.

Extending it (the OAuth part does): subclass :class:`CredentialScheme` for
another authentication class. :func:`operation_requirements` says what an
operation needs; ``get_security_requirement`` turns that into the
operation's requirement for the scheme; ``authentication_error_codes``
lists the 401 codes the credential can produce; they join the 401 response.
"""

from __future__ import annotations

import copy
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.permissions import SAFE_METHODS, AllowAny

from . import exceptions
from .conf import apikeys_settings
from .permissions import (
    HasEntitlement,
    HasKeyType,
    HasOrganizationPermission,
    HasScopes,
    OrganizationMatchesURL,
)
from .throttling import APIKeyRateThrottle

__all__ = [
    "ERROR_SCHEMA_NAME",
    "VALIDATION_ERROR_SCHEMA_NAME",
    "APIKeyScheme",
    "AutoSchema",
    "CredentialScheme",
    "OperationRequirements",
    "operation_requirements",
]

ERROR_SCHEMA_NAME = "APIKeysError"
VALIDATION_ERROR_SCHEMA_NAME = "APIKeysValidationError"

ERROR_TYPES = [
    exceptions.AUTHENTICATION_ERROR,
    exceptions.FORBIDDEN_ERROR,
    exceptions.NOT_ENTITLED_ERROR,
    exceptions.RATE_LIMIT_ERROR,
    exceptions.INVALID_REQUEST_ERROR,
    exceptions.NOT_FOUND_ERROR,
    exceptions.API_ERROR,
]

#: The app's error body (see :mod:`django_apikeys.exceptions`).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error: DRF's `detail`, a stable machine `code` and an error `type`.",
    "properties": {
        "detail": {"type": "string", "description": "Human-readable reason."},
        "code": {"type": "string", "description": "Stable machine code (never renamed)."},
        "type": {
            "type": "string",
            "description": "Error family: " + ", ".join(f"`{t}`" for t in ERROR_TYPES) + ".",
        },
        "required_scopes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "With `insufficient_scope`: the scopes the endpoint needs.",
        },
        "retry_after": {
            "type": "integer",
            "description": "With 429: seconds to wait (also in `Retry-After`).",
        },
    },
    "required": ["detail", "code", "type"],
}

#: A 400 body: DRF's errors field by field (the exception handler leaves a
#: site's validation bodies as DRF makes them; this app's own endpoints add
#: ``code`` and ``type``).
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Invalid input: DRF's list of messages per field (`non_field_errors` for the "
        "request as a whole, `detail` for a body that does not parse). This app's own "
        "endpoints add `code` and `type` (`InvalidRequestError`)."
    ),
    "properties": {
        "code": {"type": "string"},
        "type": {"type": "string"},
        "detail": {"type": "string"},
    },
    "additionalProperties": {},
}

#: 401 codes of the key credential.
KEY_AUTHENTICATION_CODES = [
    exceptions.NotAuthenticated.default_code,
    exceptions.MissingBearerPrefix.default_code,
    exceptions.WrongAuthScheme.default_code,
    exceptions.InvalidKey.default_code,
    exceptions.KeyRevoked.default_code,
    exceptions.KeyExpired.default_code,
    exceptions.KeyInQuery.default_code,
    exceptions.AmbiguousCredentials.default_code,
    exceptions.OrganizationDeactivated.default_code,
    "authentication_failed",  # another authentication class's failure (e.g. a session)
]


@dataclass(frozen=True)
class OperationRequirements:
    """What one operation (view + method) demands of a credential.

    ``key_types`` is ``None`` when the view does not restrict key types
    (``"session"`` in it means session users are admitted too); ``scopes``
    are all required; ``entitlement`` is the plan module; ``permission`` the
    role permission of the organization.
    """

    key_types: tuple[str, ...] | None
    scopes: tuple[str, ...]
    entitlement: str | None
    permission: str | None
    organization_in_url: bool
    requires_authentication: bool

    def as_extension(self) -> dict[str, Any]:
        data: dict[str, Any] = {"scopes": list(self.scopes)}
        if self.key_types is not None:
            data["key_types"] = list(self.key_types)
        if self.entitlement:
            data["entitlement"] = self.entitlement
        if self.permission:
            data["permission"] = self.permission
        return data

    def describe(self) -> str:
        """The requirements in words, for the operation's description."""
        lines = []
        if self.key_types is not None:
            lines.append("**Key types:** " + ", ".join(f"`{t}`" for t in self.key_types))
        if self.scopes:
            lines.append("**Scopes:** " + ", ".join(f"`{s}`" for s in self.scopes))
        if self.entitlement:
            lines.append(f"**Plan module:** `{self.entitlement}`")
        if self.permission:
            lines.append(f"**Role permission:** `{self.permission}`")
        return "\n\n".join(lines)


def _uses(classes: Iterable[type], klass: type) -> bool:
    return any(isinstance(c, type) and issubclass(c, klass) for c in classes)


def operation_requirements(view: Any, method: str) -> OperationRequirements:
    """Read the view's ``allowed_key_types``, ``required_scopes`` /
    ``scope_resource`` (read for safe methods, write otherwise),
    ``required_entitlement`` and ``required_permission`` — each only if the
    view uses the permission class that enforces it, and through that class
    (so the schema says what the pipeline does)."""
    permissions = list(view.get_permissions())
    classes = [type(p) for p in permissions]
    scopes: tuple[str, ...] = ()
    for permission in permissions:
        if isinstance(permission, HasScopes):
            request = types.SimpleNamespace(method=method.upper())
            scopes = tuple(permission.get_required_scopes(request, view))  # type: ignore[arg-type]
            break
    return OperationRequirements(
        key_types=tuple(view.allowed_key_types) if _uses(classes, HasKeyType) else None,
        scopes=scopes,
        entitlement=(view.required_entitlement if _uses(classes, HasEntitlement) else None),
        permission=(
            view.required_permission if _uses(classes, HasOrganizationPermission) else None
        ),
        organization_in_url=_uses(classes, OrganizationMatchesURL),
        requires_authentication=not (classes and all(c is AllowAny for c in classes)),
    )


def _scopes_in_requirements() -> bool:
    """OpenAPI 3.1 lets non-OAuth schemes list the roles (scopes) they need."""
    return str(spectacular_settings.OAS_VERSION).startswith("3.1")


class CredentialScheme(OpenApiAuthenticationExtension):
    """Base for this app's credential schemes: alternatives, each with the
    operation's scopes (3.1) and the 401 codes of the credential.

    Subclasses set ``target_class`` and ``name`` (a list is allowed: each
    name is one alternative) and implement ``get_security_definition``.
    """

    #: 401 codes this credential can answer with (added to the 401 response).
    authentication_error_codes: list[str] = []

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        requirements = operation_requirements(auto_schema.view, auto_schema.method)
        scopes = list(requirements.scopes) if _scopes_in_requirements() else []
        names = [self.name] if isinstance(self.name, str) else list(self.name)
        return [{name: list(scopes)} for name in names]


_NAME_RE = re.compile(r"[^A-Za-z0-9]")


class APIKeyScheme(CredentialScheme):
    """``APIKeyAuthentication``: ``Authorization: Bearer <key>`` (and any other
    configured scheme), each ``APIKEYS["KEY_HEADERS"]`` header and, only when
    enabled, the query parameter. Names follow the settings; the first
    header is ``APIKeyHeader``."""

    target_class = "django_apikeys.authentication.APIKeyAuthentication"
    match_subclasses = True
    priority = 0
    authentication_error_codes = KEY_AUTHENTICATION_CODES

    def _definitions(self) -> list[tuple[str, dict[str, Any]]]:
        conf = apikeys_settings
        prefixes = ", ".join(f"`{kt.prefix}`" for kt in conf.key_types.values())
        key = f"An API key (prefixes {prefixes}; format `<prefix>{conf.SEPARATOR}<body>"
        key += f"{conf.SEPARATOR}<checksum>`)."
        result: list[tuple[str, dict[str, Any]]] = []
        for scheme in conf.AUTHORIZATION_SCHEMES:
            if scheme.lower() == "bearer":
                result.append(
                    (
                        "APIKeyBearer",
                        {
                            "type": "http",
                            "scheme": "bearer",
                            "bearerFormat": "API key",
                            "description": f"`Authorization: Bearer <key>`. {key}",
                        },
                    )
                )
            else:
                result.append(
                    (
                        "APIKeyAuthorization" + _NAME_RE.sub("", scheme),
                        {
                            "type": "apiKey",
                            "in": "header",
                            "name": "Authorization",
                            "description": f"`Authorization: {scheme} <key>`. {key}",
                        },
                    )
                )
        for index, header in enumerate(conf.KEY_HEADERS):
            name = "APIKeyHeader" if index == 0 else "APIKeyHeader" + _NAME_RE.sub("", header)
            result.append(
                (
                    name,
                    {
                        "type": "apiKey",
                        "in": "header",
                        "name": header,
                        "description": f"`{header}: <key>`. {key}",
                    },
                )
            )
        if conf.QUERY_PARAM and conf.ALLOW_KEY_IN_QUERY:
            result.append(
                (
                    "APIKeyQuery",
                    {
                        "type": "apiKey",
                        "in": "query",
                        "name": conf.QUERY_PARAM,
                        "description": f"`?{conf.QUERY_PARAM}=<key>` (ends up in logs). {key}",
                    },
                )
            )
        return result

    @property
    def name(self) -> list[str]:  # type: ignore[override]
        return [name for name, _definition in self._definitions()]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:  # type: ignore[override]
        return [definition for _name, definition in self._definitions()]


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's ``AutoSchema`` plus the app's requirements and errors.

    Adds to each operation ``x-apikeys`` (see :class:`OperationRequirements`),
    the requirements in words at the end of the description, and the error
    responses the pipeline can give, each with the codes it can carry:

    * 401 when the operation needs authentication (the credential schemes'
      codes);
    * 403 for the permission classes the view uses, the tenant and origin
      checks of ``APIKeyAuthentication`` and, on writes, read-only keys;
    * 429 when ``APIKeyRateThrottle`` applies (with ``Retry-After`` and
      ``X-RateLimit-*`` headers);
    * 400 when the operation takes a request body.

    A response the view declares itself (``@extend_schema(responses=...)``)
    is left as declared.
    """

    def requirements(self) -> OperationRequirements:
        return operation_requirements(self.view, self.method)

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        requirements = self.requirements()
        # After the view's own description (``@extend_schema`` replaces it).
        words = requirements.describe()
        description = str(operation.get("description") or "").strip()
        if words:
            operation["description"] = f"{description}\n\n{words}" if description else words
        operation["x-apikeys"] = requirements.as_extension()
        return operation  # type: ignore[no-any-return]

    # -- error responses ----------------------------------------------------

    def _component(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=copy.deepcopy(schema)
        )
        self.registry.register_on_missing(component)
        return component.ref  # type: ignore[no-any-return]

    def _error(self, description: str, codes: Iterable[str]) -> dict[str, Any]:
        codes = sorted(set(codes))
        schema = {
            "allOf": [
                self._component(ERROR_SCHEMA_NAME, ERROR_SCHEMA),
                {"type": "object", "properties": {"code": {"type": "string", "enum": codes}}},
            ]
        }
        text = description + " Codes: " + ", ".join(f"`{c}`" for c in codes) + "."
        return {"description": text, "content": {"application/json": {"schema": schema}}}

    def _authentication_codes(self) -> list[str]:
        codes: list[str] = [exceptions.NotAuthenticated.default_code, "authentication_failed"]
        for authenticator in self.view.get_authenticators():
            scheme = OpenApiAuthenticationExtension.get_match(authenticator)
            codes.extend(getattr(scheme, "authentication_error_codes", []))
        return codes

    def _uses_key_authentication(self) -> bool:
        return any(
            isinstance(OpenApiAuthenticationExtension.get_match(a), APIKeyScheme)
            for a in self.view.get_authenticators()
        )

    def _forbidden_codes(self, requirements: OperationRequirements) -> list[str]:
        classes = [type(p) for p in self.view.get_permissions()]
        # CSRF failures of session writes and DRF's own permission classes.
        codes = ["permission_denied"]
        if self._uses_key_authentication():
            codes += [
                exceptions.OrganizationMismatch.default_code,
                exceptions.OriginNotAllowed.default_code,
                exceptions.IPNotAllowed.default_code,
            ]
            if self.method not in SAFE_METHODS:
                codes.append(exceptions.ReadOnlyKey.default_code)
        for klass, code in (
            (HasKeyType, exceptions.WrongKeyType.default_code),
            (HasScopes, exceptions.InsufficientScope.default_code),
            (OrganizationMatchesURL, exceptions.OrganizationMismatch.default_code),
            (HasOrganizationPermission, exceptions.OrganizationPermissionDenied.default_code),
            (HasEntitlement, exceptions.NotEntitled.default_code),
        ):
            if _uses(classes, klass):
                codes.append(code)
        return codes

    def _throttled(self) -> bool:
        """``APIKeyRateThrottle``, or a throttle that says it answers the app's 429."""
        return any(
            isinstance(t, APIKeyRateThrottle) or getattr(t, "documents_rate_limit", False)
            for t in self.view.get_throttles()
        )

    def _has_request_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and bool(self._get_request_body())

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = dict(super()._get_response_bodies(direction))
        if direction != "response":
            return responses
        requirements = self.requirements()
        extra: dict[str, dict[str, Any]] = {}
        if self._has_request_body():
            extra["400"] = {
                "description": "Invalid input.",
                "content": {
                    "application/json": {
                        "schema": self._component(
                            VALIDATION_ERROR_SCHEMA_NAME, VALIDATION_ERROR_SCHEMA
                        )
                    }
                },
            }
        if requirements.requires_authentication:
            unauthorized = self._error(
                "No credential, or a bad one.", self._authentication_codes()
            )
            unauthorized["headers"] = {
                "WWW-Authenticate": {
                    "schema": {"type": "string"},
                    "description": "The authentication challenge (`Bearer realm=...`).",
                }
            }
            extra["401"] = unauthorized
            extra["403"] = self._error(
                "The credential may not do this.", self._forbidden_codes(requirements)
            )
        if self._throttled():
            limited = self._error(
                "Rate limited or out of quota.",
                [exceptions.RateLimited.default_code, exceptions.QuotaExhausted.default_code],
            )
            limited["headers"] = {
                name: {"schema": {"type": "integer"}, "description": text}
                for name, text in (
                    ("Retry-After", "Seconds until the request may be retried."),
                    ("X-RateLimit-Limit", "The limit that was hit."),
                    ("X-RateLimit-Remaining", "Requests left in the window (0)."),
                    ("X-RateLimit-Reset", "Seconds until the window resets."),
                )
            }
            extra["429"] = limited
            unavailable = self._error(
                "Rate limits are fail-closed and their cache cannot be reached.",
                [exceptions.RateLimitUnavailable.default_code],
            )
            unavailable["headers"] = {
                "Retry-After": {
                    "schema": {"type": "integer"},
                    "description": "Seconds until the request may be retried.",
                }
            }
            extra["503"] = unavailable
        for status_code, response in extra.items():
            responses.setdefault(status_code, response)
        return responses


# -- views of the core that do not describe themselves ------------------------------

PLAYGROUND_KEY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "key": {"type": "string", "description": "The raw key, shown in this response only."},
        "key_type": {"type": "string"},
        "hint": {"type": "string"},
        "organization": {"type": "string", "format": "uuid"},
        "organization_header": {"type": "string"},
        "read_only": {"type": "boolean"},
        "remaining_uses": {"type": "integer", "description": "null: unlimited."},
    },
    "required": ["key", "key_type", "hint", "organization", "read_only"],
}


class PlaygroundView(OpenApiViewExtension):
    """The playground endpoint (:mod:`django_apikeys.playground`): its body,
    its 201 and the 404 (off) / 429 (limits, quota) it answers with."""

    target_class = "django_apikeys.playground.PlaygroundKeyView"

    def view_replacement(self) -> Any:
        from .playground import PlaygroundRequestSerializer

        error = OpenApiResponse(response=ERROR_SCHEMA, description="See `code`.")
        body = copy.deepcopy(PLAYGROUND_KEY_SCHEMA)
        remaining = body["properties"]["remaining_uses"]
        if _scopes_in_requirements():  # OpenAPI 3.1: JSON Schema's null type
            remaining["type"] = ["integer", "null"]
        else:
            remaining["nullable"] = True
        return extend_schema_view(
            post=extend_schema(
                operation_id="playground_key_create",
                request=PlaygroundRequestSerializer,
                responses={
                    201: OpenApiResponse(response=body, description="A read-only playground key."),
                    404: error,
                    429: error,
                },
            )
        )(self.target_class)  # type: ignore[type-var]  # a class once matched
