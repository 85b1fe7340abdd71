"""What a browser origin is: the one rule for ``allowed_origins``.

Pure (no ORM): the services, the dashboard form, the admin and the
authentication class all ask this module, so they cannot disagree.

An origin is ``scheme://host[:port]`` as a browser sends it in the ``Origin``
header: scheme ``http`` or ``https``; the host a DNS name (``xn--`` form for
non-ASCII names) or an IPv4 address; the port only when it is not the
scheme's default; lower case; no path, query or user (one trailing slash,
as copied from an address bar, is dropped).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

__all__ = ["is_normalized", "normalize_origin", "normalize_origins", "origin_allowed"]

_ORIGIN_RE = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>[^/?#@\[\]:\s]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
_HOST_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _host(host: str) -> str | None:
    """``host`` as a browser writes it in an ``Origin`` header, or ``None``."""
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL_RE.fullmatch(label) for label in labels):
        return None
    if labels[-1].isdigit():  # "1.2.3", "10.0.0.256": not a name, not an IPv4 address
        return None
    return host


def normalize_origin(value: str) -> str | None:
    """``value`` as the ``Origin`` header a browser sends for it, or ``None``
    if it is not an http(s) origin (``scheme://host[:port]``, nothing else).

    Lower case, and the scheme's default port dropped: browsers leave it out
    of ``Origin`` and the authentication class compares exactly.
    """
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    if value.endswith("/"):
        value = value[:-1]  # "https://shop.example/" as copied from the address bar
    match = _ORIGIN_RE.fullmatch(value)
    if match is None or match["scheme"] not in _DEFAULT_PORTS:
        return None
    host = _host(match["host"])
    if host is None:
        return None
    origin = f"{match['scheme']}://{host}"
    if match["port"] is None:
        return origin
    port = int(match["port"])
    if not 0 < port < 65536:
        return None
    return origin if port == _DEFAULT_PORTS[match["scheme"]] else f"{origin}:{port}"


def normalize_origins(origins: Iterable[Any] | None) -> list[str]:
    """The sorted list of distinct normalised ``origins``, as keys store them.

    Raises ``ValidationError`` (field ``allowed_origins``, code
    ``invalid_origin``) naming the first value that is not an origin. A
    string is refused as a whole: it is not a list of origins.
    """
    if origins is None:
        return []
    if isinstance(origins, str | bytes):
        raise ValidationError(
            {
                "allowed_origins": ValidationError(
                    _("Allowed origins must be a list of origins."), code="invalid_origin"
                )
            }
        )
    result = set()
    for value in origins:
        origin = normalize_origin(value)
        if origin is None:
            raise ValidationError(
                {
                    "allowed_origins": ValidationError(
                        _("“%(origin)s” is not an origin such as https://shop.example.")
                        % {"origin": str(value)[:100]},
                        code="invalid_origin",
                    )
                }
            )
        result.add(origin)
    return sorted(result)


def is_normalized(origins: Any) -> bool:
    """Whether ``origins`` is exactly what :func:`normalize_origins` stores."""
    if not isinstance(origins, list):
        return False
    try:
        return normalize_origins(origins) == origins
    except ValidationError:
        return False


def origin_allowed(header: str | None, allowed: Any) -> bool:
    """Whether a request with ``Origin: header`` may use a key restricted to
    ``allowed``. Fails closed: a missing or malformed header, or a stored
    value that is not a normalised list, is refused."""
    if not header or not is_normalized(allowed):
        return False
    origin = normalize_origin(header)
    return origin is not None and origin in allowed
