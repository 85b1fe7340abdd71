"""The drf-spectacular extension: security schemes, per-operation requirements
and error responses for a view with each combination of attributes."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema as PlainAutoSchema
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.validation import validate_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from django_apikeys.authentication import APIKeyAuthentication
from django_apikeys.openapi import (
    APIKeyScheme,
    AutoSchema,
    CredentialScheme,
    operation_requirements,
)
from django_apikeys.permissions import (
    HasEntitlement,
    HasKeyType,
    HasOrganizationPermission,
    HasScopes,
    OrganizationMatchesURL,
)
from django_apikeys.throttling import APIKeyRateThrottle


class Empty(serializers.Serializer):
    pass


class Base(APIView):
    serializer_class = Empty
    authentication_classes = [APIKeyAuthentication]
    throttle_classes = [APIKeyRateThrottle]
    schema = AutoSchema()

    def get(self, request: Any, **kwargs: Any) -> Response:
        """Read."""
        return Response({})

    def post(self, request: Any, **kwargs: Any) -> Response:
        """Write."""
        return Response({})


class Scoped(Base):
    permission_classes = [IsAuthenticated, HasScopes]
    required_scopes = ["reports:read", "read:exports"]


class ByResource(Base):
    permission_classes = [IsAuthenticated, HasScopes]
    scope_resource = "clients"


class Typed(Base):
    permission_classes = [IsAuthenticated, HasKeyType, HasScopes]
    allowed_key_types = ["server", "session"]
    scope_resource = "clients"


class Entitled(Base):
    permission_classes = [IsAuthenticated, HasEntitlement]
    required_entitlement = "reports"


class RoleBound(Base):
    permission_classes = [IsAuthenticated, OrganizationMatchesURL, HasOrganizationPermission]
    required_permission = "organization.manage_members"


class Everything(Base):
    permission_classes = [
        IsAuthenticated,
        HasKeyType,
        OrganizationMatchesURL,
        HasEntitlement,
        HasOrganizationPermission,
        HasScopes,
    ]
    allowed_key_types = ["server"]
    required_entitlement = "exports"
    required_permission = "organization.manage_api_keys"
    scope_resource = "exports"


class AuthenticatedOnly(Base):
    permission_classes = [IsAuthenticated]


class Public(Base):
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []


class Unthrottled(Base):
    permission_classes = [IsAuthenticated]
    throttle_classes: list[Any] = []


class Misconfigured(Base):
    permission_classes = [IsAuthenticated, HasScopes]


def generate(*views: tuple[str, type], version: str = "3.1.0", settings: Any = None) -> Any:
    """The schema of ``views``, checked against the OpenAPI ``version`` meta-schema."""
    patterns = [path(route, view.as_view()) for route, view in views]
    spectacular_settings.apply_patches({"OAS_VERSION": version})
    try:
        schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    finally:
        spectacular_settings.clear_patches()
    assert schema["openapi"] == version
    validate_schema(schema)
    return schema


def op(schema: Any, route: str, method: str = "get") -> Any:
    return schema["paths"]["/" + route][method]


def codes(operation: Any, status: str) -> list[str]:
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/APIKeysError"}
    return schema["allOf"][1]["properties"]["code"]["enum"]  # type: ignore[no-any-return]


def test_security_schemes_follow_the_settings(settings):
    schema = generate(("a", AuthenticatedOnly), settings=settings)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["APIKeyBearer"]["type"] == "http"
    assert schemes["APIKeyBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["APIKeyHeader"]["description"],
    }
    assert "APIKeyQuery" not in schemes  # keys in the query string are refused by default


def test_more_headers_other_schemes_and_the_query_parameter(settings):
    settings.APIKEYS = {
        "AUTHORIZATION_SCHEMES": ["Bearer", "Token"],
        "KEY_HEADERS": ["X-API-Key", "Api-Key"],
        "ALLOW_KEY_IN_QUERY": True,
    }
    schema = generate(("a", AuthenticatedOnly), settings=settings)
    schemes = schema["components"]["securitySchemes"]
    assert set(schemes) == {
        "APIKeyBearer",
        "APIKeyAuthorizationToken",
        "APIKeyHeader",
        "APIKeyHeaderApiKey",
        "APIKeyQuery",
    }
    assert schemes["APIKeyQuery"] == {
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": schemes["APIKeyQuery"]["description"],
    }
    assert schemes["APIKeyHeaderApiKey"]["name"] == "Api-Key"
    # Each credential is an alternative: a list of one-scheme requirements.
    security = op(schema, "a")["security"]
    assert all(len(requirement) == 1 for requirement in security)
    assert sorted(security, key=str) == sorted(({name: []} for name in schemes), key=str)


def test_required_scopes_in_3_1_requirements_and_x_apikeys(settings):
    operation = op(generate(("s", Scoped), settings=settings), "s")
    assert operation["security"] == [
        {"APIKeyBearer": ["exports:read", "reports:read"]},
        {"APIKeyHeader": ["exports:read", "reports:read"]},
    ]
    assert operation["x-apikeys"] == {"scopes": ["exports:read", "reports:read"]}
    assert "**Scopes:** `exports:read`, `reports:read`" in operation["description"]
    assert operation["description"].startswith("Read.")
    assert "insufficient_scope" in codes(operation, "403")


def test_3_0_3_keeps_scopes_out_of_non_oauth_requirements(settings):
    schema = generate(("s", Scoped), version="3.0.3", settings=settings)
    assert schema["openapi"] == "3.0.3"
    operation = op(schema, "s")
    assert operation["security"] == [{"APIKeyBearer": []}, {"APIKeyHeader": []}]
    assert operation["x-apikeys"]["scopes"] == ["exports:read", "reports:read"]


def test_scope_resource_is_read_for_safe_methods_and_write_otherwise(settings):
    schema = generate(("r", ByResource), settings=settings)
    assert op(schema, "r", "get")["x-apikeys"]["scopes"] == ["clients:read"]
    assert op(schema, "r", "post")["x-apikeys"]["scopes"] == ["clients:write"]
    assert op(schema, "r", "post")["security"][0] == {"APIKeyBearer": ["clients:write"]}


def test_key_types(settings):
    operation = op(generate(("t", Typed), settings=settings), "t", "post")
    assert operation["x-apikeys"] == {
        "scopes": ["clients:write"],
        "key_types": ["server", "session"],
    }
    assert "**Key types:** `server`, `session`" in operation["description"]
    assert {"wrong_key_type", "insufficient_scope", "read_only_key"} <= set(
        codes(operation, "403")
    )


def test_entitlement(settings):
    operation = op(generate(("e", Entitled), settings=settings), "e")
    assert operation["x-apikeys"] == {"scopes": [], "entitlement": "reports"}
    assert "**Plan module:** `reports`" in operation["description"]
    assert "not_entitled" in codes(operation, "403")
    assert "insufficient_scope" not in codes(operation, "403")


def test_role_permission_and_organization_in_url(settings):
    operation = op(
        generate(("orgs/<str:org_id>/m", RoleBound), settings=settings), "orgs/{org_id}/m"
    )
    assert operation["x-apikeys"] == {
        "scopes": [],
        "permission": "organization.manage_members",
    }
    assert {"permission_denied", "organization_mismatch"} <= set(codes(operation, "403"))


def test_every_attribute_at_once(settings):
    operation = op(
        generate(("orgs/<str:org_id>/x", Everything), settings=settings), "orgs/{org_id}/x", "post"
    )
    assert operation["x-apikeys"] == {
        "scopes": ["exports:write"],
        "key_types": ["server"],
        "entitlement": "exports",
        "permission": "organization.manage_api_keys",
    }
    assert set(codes(operation, "403")) == {
        "insufficient_scope",
        "not_entitled",
        "organization_mismatch",
        "origin_not_allowed",
        "ip_not_allowed",
        "permission_denied",
        "read_only_key",
        "wrong_key_type",
    }


def test_error_responses(settings):
    operation = op(generate(("a", AuthenticatedOnly), settings=settings), "a", "post")
    assert set(codes(operation, "401")) >= {
        "not_authenticated",
        "missing_bearer_prefix",
        "wrong_auth_scheme",
        "invalid_key",
        "key_revoked",
        "key_expired",
        "key_in_query",
    }
    assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    assert set(codes(operation, "403")) == {
        "organization_mismatch",
        "origin_not_allowed",
        "ip_not_allowed",
        "permission_denied",
        "read_only_key",
    }
    assert set(codes(operation, "429")) == {"rate_limited", "quota_exhausted"}
    assert set(operation["responses"]["429"]["headers"]) == {
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    }
    assert set(codes(operation, "503")) == {"rate_limit_unavailable"}
    assert set(operation["responses"]["503"]["headers"]) == {"Retry-After"}
    assert set(codes(operation, "401")) >= {"ambiguous_credentials", "organization_deactivated"}
    assert "read_only_key" not in codes(op(generate(("a", AuthenticatedOnly)), "a", "get"), "403")


def test_error_body_component(settings):
    schema = generate(("a", AuthenticatedOnly), settings=settings)
    component = schema["components"]["schemas"]["APIKeysError"]
    assert component["required"] == ["detail", "code", "type"]
    assert "ForbiddenError" in component["properties"]["type"]["description"]


def test_public_and_unthrottled_views_get_no_such_responses(settings):
    schema = generate(("p", Public), ("u", Unthrottled), settings=settings)
    public = op(schema, "p")
    assert not {"401", "403", "429"} & set(public["responses"])
    unthrottled = op(schema, "u")
    assert "401" in unthrottled["responses"] and "429" not in unthrottled["responses"]
    assert "503" not in unthrottled["responses"]


def test_a_view_that_names_no_scopes_fails_loudly(settings):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        generate(("m", Misconfigured), settings=settings)


def test_operation_requirements_is_the_hook_other_schemes_use():
    requirements = operation_requirements(Everything(), "GET")
    assert requirements.scopes == ("exports:read",)
    assert requirements.key_types == ("server",)
    assert requirements.organization_in_url and requirements.requires_authentication
    assert not operation_requirements(Public(), "GET").requires_authentication


class TokenAuthentication(BaseAuthentication):
    """Stands in for the OAuth part's JWT authentication class."""

    def authenticate(self, request: Any) -> None:
        return None


class TokenScheme(CredentialScheme):
    target_class = "tests.test_openapi_extension.TokenAuthentication"
    name = "OAuth2"
    authentication_error_codes = ["invalid_token", "token_expired"]

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/authorize",
                    "tokenUrl": "/token",
                    "scopes": {"clients:read": "Read clients"},
                }
            },
        }


class WithToken(Scoped):
    authentication_classes = [APIKeyAuthentication, TokenAuthentication]


def test_another_credential_scheme_plugs_in(settings):
    operation = op(generate(("o", WithToken), version="3.0.3", settings=settings), "o")
    # The base class follows the version, like the key schemes (an OAuth
    # scheme may list its scopes in 3.0.3 too by overriding the requirement).
    assert {"OAuth2": []} in operation["security"]
    assert {"invalid_token", "token_expired"} <= set(codes(operation, "401"))
    operation = op(generate(("o", WithToken), settings=settings), "o")
    assert {"OAuth2": ["exports:read", "reports:read"]} in operation["security"]


def test_registered_without_the_schema_class(settings):
    """The security schemes come from the extension alone (registered in
    ``AppConfig.ready``); the error responses need ``AutoSchema``."""

    class Plain(Scoped):
        schema = PlainAutoSchema()

    schema = generate(("p", Plain), settings=settings)
    assert "APIKeyBearer" in schema["components"]["securitySchemes"]
    assert op(schema, "p")["security"][0] == {"APIKeyBearer": ["exports:read", "reports:read"]}
    assert "401" not in op(schema, "p")["responses"]
    assert isinstance(APIKeyScheme(APIKeyAuthentication).name, list)


def test_session_authentication_is_left_to_drf_spectacular(settings):
    class Both(AuthenticatedOnly):
        authentication_classes = [APIKeyAuthentication, SessionAuthentication]

    operation = op(generate(("b", Both), settings=settings), "b")
    assert {"cookieAuth": []} in operation["security"]


@pytest.mark.parametrize("version", ["3.1.0", "3.0.3"])
def test_the_playground_view_is_described(version):
    from django_apikeys.playground import PlaygroundKeyView

    operation = op(generate(("keys", PlaygroundKeyView), version=version), "keys", "post")
    assert operation["operationId"] == "playground_key_create"
    assert {"201", "400", "404", "429"} <= set(operation["responses"])
    body = operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert "key" in body["required"]
    assert "security" not in operation or operation["security"] == [{}]
