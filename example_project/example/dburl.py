"""A tiny ``DATABASE_URL`` reader (sqlite:///path, sqlite://:memory:, postgres://...)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import django

#: Seconds a SQLite connection waits for another writer before "database is locked".
SQLITE_BUSY_TIMEOUT = 20


def sqlite_options(name: str) -> dict[str, Any]:
    """SQLite settings for concurrent writers (several threads or processes).

    ``transaction_mode = "IMMEDIATE"`` (Django 5.1+) takes the write lock when
    a transaction begins, so a transaction that reads and then writes waits
    for the busy ``timeout`` instead of failing at once with "database is
    locked" (SQLite cannot upgrade a read lock while another connection
    writes). WAL lets readers go on while one connection writes. Django 4.2
    has neither option: there, set ``timeout`` and expect occasional "database
    is locked" errors under concurrent writes, or use PostgreSQL.
    """
    options: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT}
    if django.VERSION >= (5, 1):
        options["transaction_mode"] = "IMMEDIATE"
        if name != ":memory:" and not name.startswith("file:"):
            options["init_command"] = "PRAGMA journal_mode=WAL;"
    return options


def database_from_url(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        name = (
            ":memory:" if parts.netloc == ":memory:" else unquote(parts.path[1:] or parts.netloc)
        )
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name or ":memory:",
            "OPTIONS": sqlite_options(name or ":memory:"),
        }
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
