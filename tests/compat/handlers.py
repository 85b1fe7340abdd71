"""A site's own exception handler, wrapping this app's in one line
(``docs/coexistence.rst``)."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from django_apikeys.exceptions import exception_handler as apikeys_exception_handler


def site_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = apikeys_exception_handler(exc, context)  # the one line
    if response is not None:
        response["X-Site-Handler"] = "yes"  # whatever the site did before
    return response
