"""Dashboard URLs: ``path("apikeys/", include("django_apikeys.urls"))``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "django_apikeys"

urlpatterns: list[URLPattern | URLResolver] = []
