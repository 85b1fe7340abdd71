"""Dashboard URLs: ``path("apikeys/", include("django_apikeys.urls"))``.

The patterns live in :mod:`django_apikeys.dashboard.urls`; this module keeps
the include path short and stable. It also holds the secret-scanning
receiver (``secret-scanning/<scanner>/``), which answers 404 until
``APIKEYS["SECRET_SCANNING_ENABLED"]``.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from .dashboard.urls import app_name
from .dashboard.urls import urlpatterns as dashboard_urlpatterns
from .scanning.urls import urlpatterns as scanning_urlpatterns

urlpatterns: list[URLPattern | URLResolver] = [*dashboard_urlpatterns, *scanning_urlpatterns]

__all__ = ["app_name", "urlpatterns"]
