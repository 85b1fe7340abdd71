"""GitHub's secret scanning partner program: ECDSA P-256 / SHA-256 signatures.

GitHub signs the raw body with one of the keys it publishes at
``APIKEYS["GITHUB_PUBLIC_KEYS_URL"]`` and names it in
``Github-Public-Key-Identifier``; the base64 DER signature is in
``Github-Public-Key-Signature``. The published keys are fetched with a
timeout and kept in the app's cache; an identifier not among them triggers
one refetch (at most every :data:`REFRESH_INTERVAL` seconds, so forged
identifiers cannot make the site hammer GitHub).

A fetch that fails is remembered for :data:`REFRESH_INTERVAL` seconds (in
the cache, and in the process should the cache be down): reports meanwhile
answer 503 at once, without a fetch, and while one fetch is under way no
other starts. Anyone can POST to the receiver, so without this every
request would cost an outbound fetch and a worker waiting out its timeout.

Needs ``cryptography`` (``pip install django-apikeys[scanning]``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import logging
import math
import time
import urllib.error
import urllib.request
from typing import Any

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..cache import get_cache
from ..conf import apikeys_settings
from .base import InvalidSignature, PublicKeysUnavailable, Verifier

logger = logging.getLogger("django_apikeys")

#: Seconds between two refetches caused by an unknown key identifier.
REFRESH_INTERVAL = 60
#: The published key list is small; anything much larger is not it.
MAX_KEYS_DOCUMENT = 1024 * 1024
CACHE_PREFIX = "apikeys:scanning:keys:"

#: url -> ``time.monotonic()`` until which a failed fetch is remembered in this
#: process (the cache's copy is shared; this one holds when the cache is down).
_failed_until: dict[str, float] = {}


@functools.lru_cache(maxsize=64)
def _load_key(pem: str) -> ec.EllipticCurvePublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        return None
    return key


def fetch_public_keys(url: str, timeout: float) -> dict[str, str]:
    """The ECDSA P-256 keys published at ``url``: identifier -> PEM.

    Raises :class:`PublicKeysUnavailable` when the document cannot be fetched
    in ``timeout`` seconds or holds no usable key.
    """
    if not url.startswith(("https://", "http://")):
        raise PublicKeysUnavailable()
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": "django-apikeys"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            document = json.loads(response.read(MAX_KEYS_DOCUMENT + 1)[:MAX_KEYS_DOCUMENT])
    except (OSError, ValueError, RecursionError, urllib.error.URLError):
        logger.warning("Could not fetch secret-scanning public keys from %s.", url, exc_info=True)
        raise PublicKeysUnavailable() from None
    keys: dict[str, str] = {}
    entries = document.get("public_keys") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        key_id, pem = entry.get("key_identifier"), entry.get("key")
        if isinstance(key_id, str) and isinstance(pem, str) and _load_key(pem) is not None:
            keys[key_id] = pem
    if not keys:
        logger.warning("No usable secret-scanning public key at %s.", url)
        raise PublicKeysUnavailable()
    return keys


class GitHubVerifier(Verifier):
    """Verify GitHub's signature over the raw body."""

    name = "github"
    key_id_header = "HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER"
    signature_header = "HTTP_GITHUB_PUBLIC_KEY_SIGNATURE"

    def keys_url(self) -> str:
        return str(apikeys_settings.GITHUB_PUBLIC_KEYS_URL)

    def verify(self, request: HttpRequest, body: bytes) -> None:
        key_id = request.META.get(self.key_id_header, "").strip()
        encoded = request.META.get(self.signature_header, "").strip()
        if not key_id or not encoded:
            raise InvalidSignature(_("The signature headers are missing."))
        try:
            signature = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidSignature(_("The signature is not base64.")) from None
        public_key = self.public_key(key_id)
        try:
            public_key.verify(signature, body, ec.ECDSA(hashes.SHA256()))
        except _BadSignature:
            raise InvalidSignature() from None

    def public_key(self, key_id: str) -> ec.EllipticCurvePublicKey:
        """The published key named ``key_id`` (refetching once if it is new)."""
        url = self.keys_url()
        cache_key = CACHE_PREFIX + hashlib.sha256(url.encode()).hexdigest()
        cached = self._cache_call("get", cache_key)
        keys: dict[str, str] | None = cached if isinstance(cached, dict) else None
        if keys is None or key_id not in keys:
            if keys is not None and not self._cache_call(
                "add", cache_key + ":refresh", 1, REFRESH_INTERVAL, default=True
            ):
                raise InvalidSignature(_("Unknown public key identifier."))
            keys = self._fetch(url, cache_key)
            self._cache_call(
                "set", cache_key, keys, int(apikeys_settings.SECRET_SCANNING_KEYS_CACHE_TIMEOUT)
            )
        pem = keys.get(key_id)
        key = _load_key(pem) if pem is not None else None
        if key is None:
            raise InvalidSignature(_("Unknown public key identifier."))
        return key

    def _fetch(self, url: str, cache_key: str) -> dict[str, str]:
        """Fetch the key document, unless a fetch failed lately or one is
        under way (then :class:`PublicKeysUnavailable` at once)."""
        failed_key, fetching_key = cache_key + ":failed", cache_key + ":fetching"
        if _failed_until.get(url, -math.inf) > time.monotonic() or self._cache_call(
            "get", failed_key
        ):
            raise PublicKeysUnavailable()
        timeout = float(apikeys_settings.SECRET_SCANNING_FETCH_TIMEOUT)
        if not self._cache_call("add", fetching_key, 1, math.ceil(timeout) + 1, default=True):
            raise PublicKeysUnavailable()
        try:
            return fetch_public_keys(url, timeout)
        except PublicKeysUnavailable:
            _failed_until[url] = time.monotonic() + REFRESH_INTERVAL
            self._cache_call("set", failed_key, 1, REFRESH_INTERVAL)
            raise
        finally:
            self._cache_call("delete", fetching_key)

    @staticmethod
    def _cache_call(method: str, *args: Any, default: Any = None) -> Any:
        # An unreachable cache costs a fetch per report, never a refused report.
        try:
            return getattr(get_cache(), method)(*args)
        except Exception:
            logger.warning("Cache unavailable for secret-scanning keys.", exc_info=True)
            return default
