"""Dashboard URLs: ``path("apikeys/", include("django_apikeys.urls"))``.

The patterns live in :mod:`django_apikeys.dashboard.urls`; this module keeps
the include path short and stable.
"""

from __future__ import annotations

from .dashboard.urls import app_name, urlpatterns

__all__ = ["app_name", "urlpatterns"]
