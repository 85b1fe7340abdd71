"""A tiny ``DATABASE_URL`` reader (sqlite:///path, sqlite://:memory:, postgres://...)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit


def database_from_url(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        name = (
            ":memory:" if parts.netloc == ":memory:" else unquote(parts.path[1:] or parts.netloc)
        )
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name or ":memory:"}
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
        }
    raise ValueError(f"Unsupported DATABASE_URL scheme: {parts.scheme!r}")
