"""System checks of the CORS integration (``django_apikeys_cors.*``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from ..conf import apikeys_settings

CORS_MIDDLEWARE = "corsheaders.middleware.CorsMiddleware"
COMMON_MIDDLEWARE = "django.middleware.common.CommonMiddleware"


@register()
def check_cors_setup(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from corsheaders.conf import conf as cors_conf

    messages: list[CheckMessage] = []
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if CORS_MIDDLEWARE not in middleware:
        messages.append(
            Error(
                "django_apikeys.cors is installed but django-cors-headers' middleware is not.",
                hint=f"Add {CORS_MIDDLEWARE!r} to MIDDLEWARE, before {COMMON_MIDDLEWARE!r}.",
                id="django_apikeys_cors.E001",
            )
        )
    elif COMMON_MIDDLEWARE in middleware and middleware.index(CORS_MIDDLEWARE) > middleware.index(
        COMMON_MIDDLEWARE
    ):
        messages.append(
            Warning(
                f"{CORS_MIDDLEWARE!r} comes after {COMMON_MIDDLEWARE!r}: a redirect or "
                "404 from CommonMiddleware reaches the browser without CORS headers.",
                hint="Move it as high as possible in MIDDLEWARE (django-cors-headers' docs).",
                id="django_apikeys_cors.W001",
            )
        )
    allowed = {header.lower() for header in cors_conf.CORS_ALLOW_HEADERS}
    needed = [header.lower() for header in apikeys_settings.KEY_HEADERS]
    if apikeys_settings.AUTHORIZATION_SCHEMES:
        needed.insert(0, "authorization")
    missing = [header for header in needed if header not in allowed]
    if missing:
        messages.append(
            Warning(
                f"CORS_ALLOW_HEADERS lacks {', '.join(missing)}: browsers refuse the "
                "pre-flight of a request that sends a key in that header.",
                hint='CORS_ALLOW_HEADERS = (*corsheaders.defaults.default_headers, "x-api-key")',
                id="django_apikeys_cors.W002",
            )
        )
    return messages
