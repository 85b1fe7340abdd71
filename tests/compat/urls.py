"""URLs of the compatibility site (``@pytest.mark.urls("tests.compat.urls")``)."""

from __future__ import annotations

from django.urls import path

from .views import KEY, ORDERS, SESSION, Scoped, Whoami, Widgets

urlpatterns = [
    *[
        path(f"{name}/whoami", Whoami.as_view(authentication_classes=classes))
        for name, classes in ORDERS.items()
    ],
    path("scoped", Scoped.as_view(authentication_classes=[KEY, SESSION])),
    path("widgets", Widgets.as_view(authentication_classes=[KEY, SESSION])),
    path("session-only/whoami", Whoami.as_view(authentication_classes=[SESSION])),
]
