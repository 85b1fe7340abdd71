"""The optional key-lookup cache and other per-key cache bookkeeping.

With ``APIKEYS["KEY_CACHE_TIMEOUT"] > 0`` a resolved key (with organization,
plan, user and role grants) is kept in the cache named by
``APIKEYS["CACHE_ALIAS"]`` under its hash, so a warm request makes no query.
Every change that could make a cached key wrong (revoke, roll, membership
change or removal, role edit, key edit or delete) deletes its entry on
commit; with a shared cache (Redis) the next request in every process sees
it. Role edits bump a generation number that is part of every cache key.
Invalidation leaves a short-lived tombstone rather than deleting, so that a
request racing with the change cannot put the old key back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.core.cache import caches

from .conf import apikeys_settings

if TYPE_CHECKING:
    from django.core.cache.backends.base import BaseCache

    from .abstract import AbstractAPIKey

logger = logging.getLogger("django_apikeys")

_MISSING = object()
KEY_PREFIX = "apikeys:key:"
GENERATION_KEY = "apikeys:generation"
LAST_USED_PREFIX = "apikeys:lu:"
#: Cached in place of an invalidated key; longer than any lookup can take.
TOMBSTONE = "apikeys:invalidated"
TOMBSTONE_TIMEOUT = 30


def get_cache() -> BaseCache:
    return caches[apikeys_settings.CACHE_ALIAS]


def _fresh_generation() -> int:
    # Milliseconds since the epoch, not 1: if the generation number is lost
    # (eviction, flush), restarting from a small number could reach a
    # generation whose old entries are still cached.
    return int(time.time() * 1000)


def _generation(cache: BaseCache) -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        fresh = _fresh_generation()
        cache.add(GENERATION_KEY, fresh, None)
        value = cache.get(GENERATION_KEY, fresh)
    return int(value)


def _cache_key(hashed_key: str, generation: int) -> str:
    return f"{KEY_PREFIX}{generation}:{hashed_key}"


def fetch(hashed_key: str, load: Callable[[], AbstractAPIKey | None]) -> AbstractAPIKey | None:
    """Return the key for ``hashed_key`` from the cache, else ``load()`` it.

    Unknown hashes are not cached (they would let a caller fill the cache).
    A loaded key is stored with ``add``, never ``set``: if the key was
    invalidated while this request was loading it, the tombstone wins and
    the possibly stale copy is not cached (see :func:`invalidate_many`).
    """
    timeout = apikeys_settings.KEY_CACHE_TIMEOUT
    if not timeout:
        return load()
    try:
        cache = get_cache()
        cache_key = _cache_key(hashed_key, _generation(cache))
        api_key = cache.get(cache_key, _MISSING)
    except Exception:  # an unreachable cache must not fail authentication
        logger.warning("Key-lookup cache unavailable; reading the database.", exc_info=True)
        return load()
    if api_key is _MISSING:
        api_key = load()
        if api_key is not None:
            try:
                cache.add(cache_key, api_key, timeout)
            except Exception:
                logger.warning("Could not cache a key lookup.", exc_info=True)
    elif api_key == TOMBSTONE:
        return load()  # changed a moment ago: read through until the tombstone expires
    return api_key


def invalidate(hashed_key: str) -> None:
    invalidate_many([hashed_key])


def invalidate_many(hashed_keys: Iterable[str]) -> None:
    """Replace the cached lookups with short-lived tombstones.

    A plain delete would race with a request that read the key from the
    database just before the change committed and caches it just after: it
    would serve a revoked key until ``KEY_CACHE_TIMEOUT``. The tombstone
    makes that request's ``add`` fail, and requests read through to the
    database for ``TOMBSTONE_TIMEOUT`` seconds.
    """
    if not apikeys_settings.KEY_CACHE_TIMEOUT:
        return
    try:
        cache = get_cache()
        generation = _generation(cache)
        cache.set_many(
            {_cache_key(h, generation): TOMBSTONE for h in hashed_keys}, TOMBSTONE_TIMEOUT
        )
    except Exception:
        # The change is committed; failing the caller would not undo it. A cache
        # that comes back with its old data may serve the old entries until
        # KEY_CACHE_TIMEOUT: say so loudly.
        logger.error("Could not invalidate cached key lookups.", exc_info=True)


def invalidate_all() -> None:
    """Drop every cached key at once (used when a role's grants change)."""
    if not apikeys_settings.KEY_CACHE_TIMEOUT:
        return
    try:
        cache = get_cache()
        _generation(cache)
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # lost since we read it: any fresh number is new
            cache.set(GENERATION_KEY, _fresh_generation(), None)
    except Exception:
        logger.error("Could not invalidate cached key lookups.", exc_info=True)


def claim_last_used(hashed_key: str, interval: int) -> bool:
    """True for the first caller per key per ``interval`` (cache ``add`` is atomic).

    ``False`` when the cache is unreachable: skipping a ``last_used`` write is
    better than writing on every request.
    """
    try:
        return bool(get_cache().add(f"{LAST_USED_PREFIX}{hashed_key}", 1, interval))
    except Exception:
        logger.warning("Cache unavailable; last_used not updated.", exc_info=True)
        return False
