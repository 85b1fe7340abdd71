"""A site with the dashboard and no API view yet (no scope named anywhere)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("apikeys/", include("django_apikeys.urls"))]
