"""One trivial DRF view per contender; only authentication and permissions differ."""

from __future__ import annotations

import importlib.util
from typing import Any

from django.urls import path
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView
from rest_framework_api_key.permissions import HasAPIKey

from django_apikeys.authentication import APIKeyAuthentication
from django_apikeys.oauth.authentication import OAuthTokenAuthentication

#: Contender (g) exists once ``django_apikeys.throttling`` does.
HAS_THROTTLING = importlib.util.find_spec("django_apikeys.throttling") is not None


class Ping(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class DRFToken(Ping):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]


class DRFTokenThrottled(DRFToken):
    throttle_classes = [UserRateThrottle]


class DRFAPIKey(Ping):
    permission_classes = [HasAPIKey]


class Knox(Ping):
    authentication_classes = [KnoxTokenAuthentication]
    permission_classes = [IsAuthenticated]


class APIKeys(Ping):
    # The lookup cache (contender f) is a setting: same view, APIKEYS toggled.
    authentication_classes = [APIKeyAuthentication]
    permission_classes = [IsAuthenticated]


class APIKeysInOrganization(APIKeys):
    """(e‴a, e‴b): the organization acted on named in the URL (``org_id``)."""

    def get(self, request: Request, org_id: Any = None) -> Response:
        return Response({"ok": True})


class OAuthJWT(Ping):
    # The revocation check's cache (h-cache) is the key-lookup cache setting.
    authentication_classes = [OAuthTokenAuthentication]
    permission_classes = [IsAuthenticated]


class DOTOAuth2(Ping):
    """django-oauth-toolkit's own resource-side class on its opaque tokens."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [IsAuthenticated]


urlpatterns = [
    path("none", Ping.as_view()),
    path("drf-token", DRFToken.as_view()),
    path("drf-token-throttled", DRFTokenThrottled.as_view()),
    path("drf-api-key", DRFAPIKey.as_view()),
    path("knox", Knox.as_view()),
    path("apikeys", APIKeys.as_view()),
    path("apikeys/<uuid:org_id>", APIKeysInOrganization.as_view()),
    path("oauth-jwt", OAuthJWT.as_view()),
    path("dot-oauth2", DOTOAuth2.as_view()),
]

if HAS_THROTTLING:
    from django_apikeys.throttling import APIKeyRateThrottle

    class APIKeysThrottled(APIKeys):
        throttle_classes = [APIKeyRateThrottle]

    urlpatterns.append(path("apikeys-throttled", APIKeysThrottled.as_view()))
