"""Where a request comes from: the one rule for the client's address.

Pure (no ORM). Audit events, and anything else that records or checks the
caller's address, ask :func:`client_ip`.
"""

from __future__ import annotations

from django.http import HttpRequest

__all__ = ["client_ip"]


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR`` (a reverse proxy must set it)."""
    return request.META.get("REMOTE_ADDR") or None
