"""A new site as the README's quick start leaves it: the admin (``LOGIN_URL =
"admin:login"``, no URL named ``logout``), the dashboard and one API view."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_apikeys.permissions import HasKeyType, HasScopes


class ClientList(APIView):
    permission_classes = [IsAuthenticated, HasKeyType, HasScopes]
    allowed_key_types = ["server", "user"]
    scope_resource = "clients"

    def get(self, request: Request) -> Response:
        return Response({"clients": []})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("apikeys/", include("django_apikeys.urls")),
    path("clients", ClientList.as_view()),
]
