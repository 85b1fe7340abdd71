"""``extend_schema`` when drf-spectacular is installed, else a no-op.

The management API documents itself for drf-spectacular but does not need
it: without the package the decorators and helpers below do nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    from drf_spectacular.utils import (
        OpenApiExample,
        OpenApiParameter,
        OpenApiResponse,
        extend_schema,
    )
except ImportError:  # pragma: no cover - exercised only without drf-spectacular
    OpenApiExample = OpenApiParameter = OpenApiResponse = None  # type: ignore[assignment,misc]

    def extend_schema(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:  # type: ignore[no-redef,misc]
        return lambda target: target


__all__ = [
    "OpenApiParameter",
    "OpenApiResponse",
    "extend_schema",
    "invalid",
    "not_found",
    "request_example",
]


def request_example(summary: str, value: dict[str, Any]) -> list[Any]:
    """One documented request body (Swagger UI pre-fills it; schemathesis sends it)."""
    if OpenApiExample is None:  # pragma: no cover
        return []
    return [OpenApiExample(summary, value=value, request_only=True)]


def not_found(what: str) -> Any:
    """A documented 404 with the app's error body."""
    if OpenApiResponse is None:  # pragma: no cover
        return None
    from ..openapi import ERROR_SCHEMA

    return OpenApiResponse(
        response=ERROR_SCHEMA, description=f"No such {what} in this organization (`not_found`)."
    )


def invalid() -> Any:
    """A documented 400 with the app's validation error body."""
    if OpenApiResponse is None:  # pragma: no cover
        return None
    from ..openapi import VALIDATION_ERROR_SCHEMA

    return OpenApiResponse(response=VALIDATION_ERROR_SCHEMA, description="Invalid input.")
