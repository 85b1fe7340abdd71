"""The compatibility site's views: one ``whoami`` per order of authentication
classes, as a site that was there first would list them."""

from __future__ import annotations

from typing import Any

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import serializers
from rest_framework.authentication import (
    BasicAuthentication,
    SessionAuthentication,
    TokenAuthentication,
)
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication

from django_apikeys.authentication import APIKeyAuthentication
from django_apikeys.permissions import HasScopes

KEY = APIKeyAuthentication
DOT = OAuth2Authentication
JWT = JWTAuthentication
TOKEN = TokenAuthentication
BASIC = BasicAuthentication
SESSION = SessionAuthentication

#: Orders of ``authentication_classes`` a site may have.
ORDERS: dict[str, list[type]] = {
    "key-first": [KEY, DOT, JWT, TOKEN, BASIC, SESSION],
    "dot-first": [DOT, KEY, JWT, TOKEN, BASIC, SESSION],
    "others-first": [BASIC, TOKEN, DOT, KEY, JWT, SESSION],
    "session-first": [SESSION, KEY, DOT, JWT, BASIC, TOKEN],
    # simplejwt refuses every Bearer value it cannot verify (check W005):
    # keys reach this order through X-API-Key only.
    "jwt-first": [JWT, KEY, BASIC],
}


class Whoami(APIView):
    """Who authenticated the request, and with which class."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Any, **kwargs: Any) -> Response:
        authenticator = request.successful_authenticator
        return Response(
            {
                "user": getattr(request.user, "username", ""),
                "authenticator": type(authenticator).__name__ if authenticator else None,
            }
        )


class Scoped(Whoami):
    """Only keys with ``widgets:read``: this app's refusal body when it says no."""

    permission_classes = [HasScopes]
    required_scopes = ["widgets:read"]


class WidgetSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=3)
    type = serializers.CharField()


class Widgets(APIView):
    """A site's own form-like endpoint: its validation bodies stay DRF's."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Any) -> Response:
        serializer = WidgetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.data, status=201)
