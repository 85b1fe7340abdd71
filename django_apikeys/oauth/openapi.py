"""drf-spectacular: the OAuth access-token scheme (imported by the app when
drf-spectacular is installed), with its 401 codes.

The scheme is OAuth 2.0's authorization code flow (PKCE S256 required) at
the app's authorize and token endpoints, with the scope vocabulary and each
scope in the words the consent page uses; operations list the scopes they
need under it.
"""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from django_apikeys import exceptions
from django_apikeys.openapi import CredentialScheme

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
