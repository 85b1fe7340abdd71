"""The playground endpoint: a read-only test key for an anonymous visitor.

The test-tier reference product's "10 free discoveries with no signup": ``POST`` a client
fingerprint, get a key of ``APIKEYS["PLAYGROUND_KEY_TYPE"]`` (read-only,
with a lifetime quota) owned by the ``PLAYGROUND_ORGANIZATION``. Off unless
``PLAYGROUND_KEY_TYPE`` is set (404 otherwise). Include it in the site's
URLs::

    path("api/v1/playground/", include("django_apikeys.playground"))

Limits, each a django-ratelimit rate on ``RATELIMIT_USE_CACHE`` (429
``rate_limited`` with ``Retry-After``):

* ``PLAYGROUND_RATE``: keys per fingerprint + IP address;
* ``PLAYGROUND_IP_RATE``: keys per IP address, whatever the fingerprint
  (bounds a client that makes up a fingerprint per request);

  an IPv6 address counts as its ``PLAYGROUND_IPV6_PREFIX`` network (``/64``
  by default: one subscriber's allocation, whose addresses cost nothing);
* ``PLAYGROUND_FINGERPRINT_RATE``: keys per fingerprint, whatever the IP;
* ``PLAYGROUND_GLOBAL_RATE``: keys for everyone together (bounds many
  addresses with many fingerprints).

The lifetime quota belongs to the fingerprint
(:func:`~django_apikeys.services.issue_playground_key`): reissuing never
grants a new one (429 ``quota_exhausted``). When the rate-limit cache
cannot be reached, no key is issued (503 ``rate_limit_unavailable``, fail
closed, as every limit of the app).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from django_ratelimit.core import get_usage
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import exceptions, services
from .conf import apikeys_settings
from .networks import client_ip
from .services.playground import (
    PlaygroundOrganizationTaken,
    hash_fingerprint,
    playground_key_type,
)
from .throttling import RETRY_AFTER_UNAVAILABLE

__all__ = ["PlaygroundKeyView", "urlpatterns"]

logger = logging.getLogger("django_apikeys")

#: What a client fingerprint may look like: an opaque token such as a
#: FingerprintJS visitor id or a hash, not free text.
FINGERPRINT_PATTERN = r"^[A-Za-z0-9_.:+/=\-]{16,256}$"


class PlaygroundRequestSerializer(serializers.Serializer):
    fingerprint = serializers.RegexField(
        FINGERPRINT_PATTERN,
        error_messages={
            "invalid": _(
                "A fingerprint is 16 to 256 characters: letters, digits and _ . : + / = -."
            )
        },
    )


def rate_limited_address(ip: str) -> str:
    """What the per-address limits count for ``ip``: the address itself, or
    for IPv6 its ``PLAYGROUND_IPV6_PREFIX`` network (``2001:db8::/64``).

    One IPv6 subscriber is routinely given a whole /64 (or more), so counting
    single IPv6 addresses would give them 2**64 playground quotas.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version != 6:
        return ip
    prefix = apikeys_settings.PLAYGROUND_IPV6_PREFIX
    return str(ipaddress.IPv6Network((address, prefix), strict=False))


def _limits(fingerprint_hash: str, ip: str) -> list[tuple[str, str, str]]:
    """``(group, counted value, rate)`` in the order they are checked."""
    conf = apikeys_settings
    ip = rate_limited_address(ip)
    return [
        (
            "django_apikeys.playground.fingerprint_ip",
            f"{fingerprint_hash}:{ip}",
            conf.PLAYGROUND_RATE,
        ),
        ("django_apikeys.playground.ip", ip, conf.PLAYGROUND_IP_RATE),
        (
            "django_apikeys.playground.fingerprint",
            fingerprint_hash,
            conf.PLAYGROUND_FINGERPRINT_RATE,
        ),
        ("django_apikeys.playground.global", "all", conf.PLAYGROUND_GLOBAL_RATE),
    ]


def check_limits(request: Any, fingerprint_hash: str, ip: str) -> None:
    """Count this request against every playground limit; raise 429 at the first exceeded."""
    for group, value, rate in _limits(fingerprint_hash, ip):
        try:
            usage = get_usage(
                request,
                group=group,
                key=lambda _group, _request, value=value: value,
                rate=rate,
                increment=True,
            )
        except Exception:  # the cache is unreachable: issue nothing
            # The client did nothing wrong: 503 like every other limit of the
            # app (throttling.RETRY_AFTER_UNAVAILABLE), not a 429 that blames it.
            logger.exception("Playground rate-limit cache failed; no key issued.")
            raise exceptions.RateLimitUnavailable(
                wait=RETRY_AFTER_UNAVAILABLE,
                detail=str(_("The playground is unavailable right now; try again later.")),
            ) from None
        if usage is None:  # RATELIMIT_ENABLE = False
            continue
        if usage["should_limit"]:
            raise exceptions.RateLimited(
                wait=max(int(usage["time_left"]), 1),
                detail=str(_("Too many playground keys requested; try again later.")),
            )


class PlaygroundKeyView(APIView):
    """``POST {"fingerprint": "..."}`` → 201 with a read-only playground key.

    The raw key is in this response body and nowhere else (``no-store``).
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @sensitive_variables("raw_key", "fingerprint")
    def post(self, request: Request) -> Response:
        kt = playground_key_type()
        if kt is None:
            raise NotFound()
        serializer = PlaygroundRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fingerprint = serializer.validated_data["fingerprint"]
        ip = client_ip(request._request) or "unknown"
        check_limits(request._request, hash_fingerprint(fingerprint), ip)
        try:
            api_key, raw_key = services.issue_playground_key(fingerprint, ip_address=ip)
        except ValidationError as exc:
            raise exceptions.QuotaExhausted(detail=exc.messages[0]) from None
        except PlaygroundOrganizationTaken as exc:
            logger.error("No playground key issued: %s", exc)
            raise exceptions.PlaygroundUnavailable() from None
        body = {
            "key": raw_key,
            "key_type": api_key.key_type,
            "hint": api_key.hint,
            "organization": str(api_key.organization_id),
            "organization_header": apikeys_settings.ORGANIZATION_HEADER,
            "read_only": kt.read_only,
            "remaining_uses": api_key.remaining_uses,
        }
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


app_name = "django_apikeys_playground"
urlpatterns = [path("keys", PlaygroundKeyView.as_view(), name="key")]
