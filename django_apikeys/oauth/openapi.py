"""drf-spectacular: the OAuth access-token scheme (imported by the app when
drf-spectacular is installed), with its 401 codes.

The scheme is OAuth 2.0's authorization code flow (PKCE S256 required) at
the app's authorize and token endpoints, with the scope vocabulary and each
scope in the words the consent page uses; operations list the scopes they
need under it. Operations whose ``allowed_key_types`` leave tokens out do
not list the scheme.
"""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from django_apikeys import exceptions
from django_apikeys.openapi import CredentialScheme, operation_requirements

from .conf import oauth_settings
from .services import describe_scope, vocabulary


class OAuthTokenScheme(CredentialScheme):
    target_class = "django_apikeys.oauth.authentication.OAuthTokenAuthentication"
    match_subclasses = True
    name = "OAuthAccessToken"
    authentication_error_codes = [
        exceptions.InvalidToken.default_code,
        exceptions.TokenExpired.default_code,
        exceptions.TokenRevoked.default_code,
        exceptions.AmbiguousCredentials.default_code,
    ]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        # Only operations that admit the credential kind list it: a view whose
        # allowed_key_types leave tokens out (the management API, key-only
        # routes) answers them 403 wrong_key_type, so advertising the scheme
        # there would be a promise the pipeline breaks.
        key_types = operation_requirements(auto_schema.view, auto_schema.method).key_types
        if key_types is not None and oauth_settings.CREDENTIAL_KIND not in key_types:
            return []
        return super().get_security_requirement(auto_schema)

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        try:
            authorize = reverse("django_apikeys_oauth:authorize")
            token = reverse("django_apikeys_oauth:token")
        except NoReverseMatch:  # the site serves the resource side only
            return {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An OAuth 2.0 access token (JWT) of a third-party app.",
            }
        return {
            "type": "oauth2",
            "description": (
                "OAuth 2.0 for third-party apps: authorization code with PKCE (S256 "
                "required), the organization chosen on the consent page; the access "
                "token is a JWT sent as `Authorization: Bearer`, refresh tokens rotate."
            ),
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": authorize,
                    "tokenUrl": token,
                    "refreshUrl": token,
                    "scopes": {scope: describe_scope(scope) for scope in vocabulary()},
                }
            },
        }
