"""Where a request comes from: the one rule for the client's address, and for
the IP allowlists (``allowed_ips``) of keys.

Pure (no ORM). Audit events, ``last_used_ip``, the authentication class, the
services, the dashboard form and the admin all ask this module.

The client's address is ``REMOTE_ADDR`` unless ``APIKEYS["NUM_PROXIES"]``
says how many reverse proxies sit in front of the site, as DRF's
``NUM_PROXIES`` does: each proxy appends the address it saw to
``X-Forwarded-For``, so the client is the entry that many places from the
right. Entries further left were written by the client and are never
trusted: a forged header cannot choose the address.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .conf import apikeys_settings

__all__ = [
    "MAX_ALLOWED_IPS",
    "client_ip",
    "ip_allowed",
    "normalize_network",
    "normalize_networks",
    "valid_ip",
]

#: The most entries one key's allowlist may hold.
MAX_ALLOWED_IPS = 100

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(value: Any) -> Address | None:
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
            return address.ipv4_mapped
    return address


def valid_ip(value: Any) -> str | None:
    """``value`` as a canonical IP address string, or ``None`` if it is not one."""
    address = _address(value)
    return None if address is None else str(address)


def client_ip(request: HttpRequest, num_proxies: int | None = None) -> str | None:
    """The client's address (see the module docstring), or ``None`` if unknown.

    ``num_proxies`` defaults to ``APIKEYS["NUM_PROXIES"]``. With proxies
    declared, a request without ``X-Forwarded-For`` did not pass through them
    and ``REMOTE_ADDR`` is the client (as in DRF); a header with fewer entries
    than declared proxies, or whose entry is not an address, gives ``None``:
    an allowlisted key is then refused rather than judged on a guess.
    """
    if num_proxies is None:
        num_proxies = apikeys_settings.NUM_PROXIES
    remote = request.META.get("REMOTE_ADDR") or None
    if not num_proxies:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not forwarded:
        return remote
    entries = [entry.strip() for entry in forwarded.split(",")]
    if len(entries) < num_proxies:
        return None
    return valid_ip(entries[-num_proxies])


def normalize_network(value: Any) -> str | None:
    """One allowlist entry as stored (an address, or a network in CIDR form),
    or ``None`` if it is neither. A single-address network (``/32``,
    ``/128``) is stored as the address; host bits set (``10.0.0.5/24``) are
    refused: the entry would not mean what it says."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if "/" not in text:
        return valid_ip(text)
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        return None
    if network.num_addresses == 1:
        return valid_ip(str(network.network_address))
    return str(network)


def _invalid(message: Any) -> ValidationError:
    return ValidationError({"allowed_ips": ValidationError(message, code="invalid_ip")})


def normalize_networks(values: Iterable[Any] | None) -> list[str]:
    """The sorted list of distinct normalised allowlist entries, as keys store them.

    Raises ``ValidationError`` (field ``allowed_ips``, code ``invalid_ip``)
    naming the first entry that is neither an address nor a CIDR network,
    or when there are more than :data:`MAX_ALLOWED_IPS`. A string is refused
    as a whole: it is not a list.
    """
    if values is None:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise _invalid(_("Allowed IP addresses must be a list."))
    result: set[str] = set()
    for value in values:
        entry = normalize_network(value)
        if entry is None:
            raise _invalid(
                _(
                    "“%(value)s” is not an IP address or a network such as 203.0.113.0/24 "
                    "or 2001:db8::/32 (without host bits)."
                )
                % {"value": str(value)[:100]}
            )
        result.add(entry)
    if len(result) > MAX_ALLOWED_IPS:
        raise _invalid(
            _("At most %(max)s IP addresses or networks (%(count)s given).")
            % {"max": MAX_ALLOWED_IPS, "count": len(result)}
        )
    return sorted(result)


@functools.lru_cache(maxsize=1024)
def _compiled(allowed: tuple[str, ...]) -> tuple[Network, ...] | None:
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in allowed)
    except (TypeError, ValueError):
        return None


def ip_allowed(address: str | None, allowed: Any) -> bool:
    """Whether a request from ``address`` may use a key restricted to ``allowed``.

    Fails closed: an unknown or malformed address, or a stored value that is
    not a list of networks, is refused.
    """
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        return False
    networks = _compiled(tuple(allowed))
    client = _address(address)
    if networks is None or client is None:
        return False
    return any(client in network for network in networks)
