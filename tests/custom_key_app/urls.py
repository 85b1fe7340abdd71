"""The same small API twice: authenticated by the bundled ``APIKey`` and by
:class:`ProjectKey`, with the whole pipeline (scopes, tenant, throttle)."""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_apikeys.authentication import APIKeyAuthentication
from django_apikeys.permissions import HasScopes
from django_apikeys.throttling import APIKeyRateThrottle

from .auth import ProjectKeyAuthentication, ProjectKeyRateThrottle


class Me(APIView):
    authentication_classes = [APIKeyAuthentication]
    throttle_classes = [APIKeyRateThrottle]
    permission_classes = [IsAuthenticated, HasScopes]
    required_scopes = ["clients:read"]

    def get(self, request: Request, **kwargs: Any) -> Response:
        return Response(
            {
                "model": request.auth._meta.label,
                "key": str(request.auth.pk),
                "organization": str(request._request.organization.pk),
            }
        )


class ProjectMe(Me):
    authentication_classes = [ProjectKeyAuthentication]
    throttle_classes = [ProjectKeyRateThrottle]


urlpatterns = [
    path("apikey/me", Me.as_view()),
    path("apikey/<uuid:org_id>/me", Me.as_view()),
    path("projectkey/me", ProjectMe.as_view()),
    path("projectkey/<uuid:org_id>/me", ProjectMe.as_view()),
]
