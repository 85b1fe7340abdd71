"""The receiver's URL, part of ``django_apikeys.urls`` (``secret-scanning/<scanner>/``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import SecretScanningView

urlpatterns: list[URLPattern] = [
    path(
        "secret-scanning/<slug:scanner>/",
        SecretScanningView.as_view(),
        name="secret_scanning",
    ),
]
