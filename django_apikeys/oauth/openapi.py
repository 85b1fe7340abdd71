"""drf-spectacular: the OAuth access-token scheme (imported by the app when
drf-spectacular is installed), with its 401 codes."""

from __future__ import annotations

from typing import Any

from django_apikeys import exceptions
from django_apikeys.openapi import CredentialScheme


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
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An OAuth 2.0 access token (JWT) of a third-party app.",
        }
