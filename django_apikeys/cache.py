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

**The invalidation outbox** makes revocation hold whatever the cache does.
Deleting entries on commit is not enough: the cache may be unreachable at
that moment (the invalidation is lost) or come back from a snapshot taken
before it. So every change also writes a
:class:`~django_apikeys.models.CacheInvalidation` row in its own
transaction, and each process reads the outbox's *mark* (highest id and row
count, one indexed query) at most once per :data:`OUTBOX_POLL_INTERVAL`
seconds, never per request, and puts it in every cache key. Once a change is
committed, every process stops reading entries cached before it within
``OUTBOX_POLL_INTERVAL`` seconds (the process that made it: at its next
request), whatever the cache missed in between. The row count is part of the
mark because ids are allocated before commit: a transaction that commits
after a later one leaves the highest id unchanged but adds a row. Pruning
(rows older than :data:`OUTBOX_RETENTION`) adds a row too, so a mark never
repeats.
"""

from __future__ import annotations

import copy
import datetime
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import django
from django.apps import apps
from django.core.cache import caches
from django.core.cache.backends.base import default_key_func
from django.core.cache.backends.redis import RedisCache
from django.db import router, transaction
from django.db.models import Count, Max, Model
from django.db.models.base import ModelState
from django.utils import timezone

from . import __version__
from ._tracked_tier import Tier
from .conf import apikeys_settings
from .models import CacheInvalidation

if TYPE_CHECKING:
    from django.core.cache.backends.base import BaseCache

    from .abstract import AbstractAPIKey

logger = logging.getLogger("django_apikeys")

_MISSING = object()
KEY_PREFIX = "apikeys:key:"
#: The format of a cached lookup: this app's version and Django's. The packed
#: form holds model attributes by name (see :func:`_pack`), which an upgrade of
#: either may change; the format is part of every entry's cache key and of its
#: tag, so a process never unpacks an entry written by another version (during
#: a rolling upgrade each version reads and caches its own entries).
FORMAT = f"{__version__}-{django.get_version()}"
GENERATION_KEY = "apikeys:generation"
LAST_USED_PREFIX = "apikeys:lu:"
#: Cached in place of an invalidated key; longer than any lookup can take.
TOMBSTONE = "apikeys:invalidated"
TOMBSTONE_TIMEOUT = 30
#: Seconds between two reads of the outbox mark per process: the bound on how
#: long another process may serve an entry cached before a change.
OUTBOX_POLL_INTERVAL = 1.0
#: Seconds an outbox row is kept (pruned by the writes, see _prune_outbox).
OUTBOX_RETENTION = 3600
#: Prune at most once per this many seconds per process.
OUTBOX_PRUNE_EVERY = 300

_outbox_lock = threading.Lock()
#: This process's view of the outbox: [mark, monotonic time read, recent marks].
_outbox_state: list[Any] = ["", float("-inf"), ()]
_last_prune = [float("-inf")]


def get_cache() -> BaseCache:
    return caches[apikeys_settings.CACHE_ALIAS]


#: Seconds a process leaves the cache alone after it failed (refused, timed out):
#: one request per process per interval pays the socket timeout, not every one.
CACHE_RETRY_INTERVAL = 5.0
_cache_down_until = [float("-inf")]


def cache_failed() -> None:
    """Record that the cache just failed: :func:`cache_unavailable` is true for a while."""
    _cache_down_until[0] = time.monotonic() + CACHE_RETRY_INTERVAL


def cache_unavailable() -> bool:
    """True within :data:`CACHE_RETRY_INTERVAL` seconds of a cache failure in this
    process: the key lookup reads the database, limits answer as configured
    (``RATELIMIT_FAIL_OPEN``), metering and ``last_used`` are skipped."""
    return time.monotonic() < _cache_down_until[0]


#: User fields the pipeline never reads and the cache must not hold.
_UNCACHED_USER_FIELDS = ("password",)
#: Tags the packed form of a cached lookup (see :func:`_pack`).
_PACKED = f"apikeys:packed:{FORMAT}"


def _pack(instance: Model, relation: str | None = None) -> tuple[Any, ...]:
    """``instance`` and its cached relations as plain values: the model's label,
    its database alias, its attributes and, recursively, its related objects.

    Unpickling this costs about half of unpickling the instances (which looks
    up each model and checks the Django version per object). Without what the
    pipeline never reads (the owner's password hash): the cache holds no
    secret; reading such a field on a cached key loads it from the database,
    as for any deferred field.
    """
    values = {name: value for name, value in instance.__dict__.items() if name != "_state"}
    if relation == "user":
        for name in _UNCACHED_USER_FIELDS:
            values.pop(name, None)
    related = {
        name: None if other is None else _pack(other, name)
        for name, other in instance._state.fields_cache.items()
    }
    return (instance._meta.label_lower, instance._state.db, values, related)


def _unpack(packed: tuple[Any, ...], shared: bool = False) -> Model:
    """The instances :func:`_pack` packed, as loaded from the database.

    ``shared``: ``packed`` is kept for other requests (the in-process tier),
    so lists and dicts (JSON fields) are copied, as unpickling would; other
    attribute values (strings, numbers, dates, UUIDs) are immutable.
    """
    label, db, values, related = packed
    model: type[Model] = apps.get_model(label)
    instance = model.__new__(model)
    if shared:
        values = {
            name: copy.deepcopy(value) if isinstance(value, (list, dict)) else value
            for name, value in values.items()
        }
    instance.__dict__.update(values)
    state = ModelState()
    state.adding, state.db = False, db
    state.fields_cache = {
        name: None if other is None else _unpack(other, shared) for name, other in related.items()
    }
    instance._state = state
    return instance


def _cached_value(api_key: Model) -> tuple[str, tuple[Any, ...]]:
    return (_PACKED, _pack(api_key))


def _from_cache(value: Any) -> Any:
    """A cached lookup as an instance; anything else (a tombstone) unchanged."""
    if type(value) is tuple and len(value) == 2 and value[0] == _PACKED:
        return _unpack(value[1])
    return value


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
    _last_generation[0] = int(value)
    return int(value)


#: The generation this process saw last: the guess that lets :func:`_lookup`
#: read the generation and the entry in one round trip.
_last_generation: list[int | None] = [None]


def _lookup(cache: BaseCache, hashed_key: str, mark: str) -> tuple[str, Any]:
    """The cache key under the current generation and what it holds (or ``_MISSING``).

    One ``get_many`` (one ``MGET`` on Redis, atomic) reads the generation
    together with the entry under the generation this process saw last.
    When the generation has moved on since (a role, plan or organization
    change), a second read fetches the entry under the new one: the entry
    returned is always the one under the generation current at the read.
    """
    guess = _last_generation[0]
    if guess is not None:
        guessed_key = _cache_key(hashed_key, guess, mark)
        found = cache.get_many([GENERATION_KEY, guessed_key])
        current = found.get(GENERATION_KEY)
        if current is not None and int(current) == guess:
            return guessed_key, found.get(guessed_key, _MISSING)
    cache_key = _cache_key(hashed_key, _generation(cache), mark)
    return cache_key, cache.get(cache_key, _MISSING)


def _cache_key(hashed_key: str, generation: int, mark: str = "") -> str:
    return f"{KEY_PREFIX}{FORMAT}:{generation}:{mark}:{hashed_key}"


def _read_mark(without: int | None = None) -> str:
    """The outbox mark; ``without`` a row: the mark just before that row committed."""

    rows = CacheInvalidation.objects.using(router.db_for_write(CacheInvalidation))
    if without is not None:
        rows = rows.exclude(pk=without)
    row = rows.aggregate(top=Max("pk"), rows=Count("pk"))
    return f"{row['top'] or 0}.{row['rows']}"


def outbox_mark(*, refresh: bool = False) -> str:
    """This process's outbox mark, read from the database at most once per
    :data:`OUTBOX_POLL_INTERVAL` seconds (or now, with ``refresh``)."""
    state = _outbox_state
    now = time.monotonic()
    if not refresh and now - state[1] < OUTBOX_POLL_INTERVAL:
        return state[0]
    mark = _read_mark()
    with _outbox_lock:
        if mark != state[0]:
            # Remember the marks of the last moments: tombstones go under each,
            # for the processes that have not read the new mark yet.
            recent = tuple(m for m in state[2] if m != mark)[-3:]
            state[2] = (*recent, state[0]) if state[0] else recent
        state[0], state[1] = mark, now
    return mark


def _forget_mark() -> None:
    """Make this process read the mark at its next request (after its own change)."""
    _outbox_state[1] = float("-inf")


def record_invalidation(hashed_keys: Iterable[str] | None) -> None:
    """Write an outbox row for ``hashed_keys`` (``None``: every key) in the current
    transaction, and drop the cached entries once it commits.

    Called by the services and receivers for every change a cached key could
    miss. A no-op while the key-lookup cache is off.
    """
    if not apikeys_settings.KEY_CACHE_TIMEOUT:
        return

    digests = sorted(set(hashed_keys)) if hashed_keys is not None else None
    if digests is not None and not digests:
        return
    using = router.db_for_write(CacheInvalidation)
    row = CacheInvalidation.objects.using(using).create(hashed_keys=digests or [])

    def on_commit() -> None:
        _forget_mark()
        if digests is None:
            invalidate_all()
        else:
            try:  # the mark the other processes read until they see this row
                before = [_read_mark(without=row.pk)]
            except Exception:
                before = []
            invalidate_many(digests, before)
        _prune_outbox(using)

    transaction.on_commit(on_commit, using=using)


def _prune_outbox(using: str) -> None:
    """Delete outbox rows older than :data:`OUTBOX_RETENTION`, at most once per
    :data:`OUTBOX_PRUNE_EVERY` seconds per process, adding one row in the same
    transaction so that the mark moves forward (a mark never repeats)."""
    now = time.monotonic()
    if now - _last_prune[0] < OUTBOX_PRUNE_EVERY:
        return
    _last_prune[0] = now

    cutoff = timezone.now() - datetime.timedelta(seconds=OUTBOX_RETENTION)
    try:
        with transaction.atomic(using=using):
            stale = CacheInvalidation.objects.using(using).filter(created_at__lt=cutoff)
            if stale.exists():
                stale.delete()
                CacheInvalidation.objects.using(using).create(hashed_keys=[])
    except Exception:  # pruning is housekeeping: never fail the change that triggered it
        logger.warning("Could not prune the cache-invalidation outbox.", exc_info=True)


def _is_entry(value: Any) -> bool:
    """Whether ``value`` is a lookup cached in this process's format."""
    return type(value) is tuple and len(value) == 2 and value[0] == _PACKED


#: The in-process tiers of this process, by Redis server, key prefix and size.
_tiers: dict[tuple[Any, ...], Tier] = {}
_tiers_lock = threading.Lock()


def local_tier(cache: BaseCache) -> Tier | None:
    """This process's in-process tier in front of ``cache``, or ``None`` when
    ``KEY_CACHE_LOCAL_ENTRIES`` is 0 or ``cache`` is not one Redis server with
    Django's key function (the tier hears of changes through Redis' key
    tracking, by key prefix: see :mod:`django_apikeys._tracked_tier`)."""
    size = apikeys_settings.KEY_CACHE_LOCAL_ENTRIES
    if not isinstance(size, int) or size <= 0:
        return None
    if not isinstance(cache, RedisCache) or cache.key_func is not default_key_func:
        return None
    servers = cache._servers  # type: ignore[attr-defined]
    if len(servers) != 1:  # replicas may answer from behind the primary's invalidations
        return None
    entry_prefix = cache.make_key(KEY_PREFIX)
    identity = (servers[0], entry_prefix, size)
    tier = _tiers.get(identity)
    if tier is None:
        with _tiers_lock:
            tier = _tiers.get(identity)
            if tier is None:
                pool = cache._cache._get_connection_pool(True)  # type: ignore[attr-defined]
                tier = Tier(pool, entry_prefix, cache.make_key(GENERATION_KEY), size)
                _tiers[identity] = tier
    return tier


def fetch(hashed_key: str, load: Callable[[], AbstractAPIKey | None]) -> AbstractAPIKey | None:
    """Return the key for ``hashed_key`` from the cache, else ``load()`` it.

    With Redis and ``KEY_CACHE_LOCAL_ENTRIES``, an entry this process read
    from Redis is kept in memory (:func:`local_tier`) and served from there
    with no round trip until Redis reports a change to it.

    Unknown hashes are not cached (they would let a caller fill the cache).
    A loaded key is stored with ``add``, never ``set``: if the key was
    invalidated while this request was loading it, the tombstone wins and
    the possibly stale copy is not cached (see :func:`invalidate_many`).
    """
    timeout = apikeys_settings.KEY_CACHE_TIMEOUT
    if not timeout:
        return load()
    if cache_unavailable():
        return load()
    try:
        mark = outbox_mark()
    except Exception:  # the outbox cannot be read: trust nothing cached
        logger.warning("Cache-invalidation outbox unreadable; reading the key.", exc_info=True)
        return load()
    try:
        cache = get_cache()
        tier = local_tier(cache)
        epoch = tier.sync() if tier is not None else None
        if epoch is not None:
            kept = tier.get(hashed_key, mark)  # type: ignore[union-attr]
            if kept is not None:
                return _unpack(kept, shared=True)  # type: ignore[return-value]
        cache_key, api_key = _lookup(cache, hashed_key, mark)
    except Exception:  # an unreachable cache must not fail authentication
        cache_failed()
        logger.warning("Key-lookup cache unavailable; reading the database.", exc_info=True)
        return load()
    if api_key is _MISSING:
        api_key = load()
        if api_key is not None:
            try:
                cache.add(cache_key, _cached_value(api_key), timeout)
            except Exception:
                cache_failed()
                logger.warning("Could not cache a key lookup.", exc_info=True)
        return api_key
    if not _is_entry(api_key):
        # A tombstone (changed a moment ago: read through until it expires) or
        # an entry in another version's format (see FORMAT): never unpacked.
        return load()
    if epoch is not None:
        # The packed form: each hit builds fresh instances from it.
        tier.put(hashed_key, mark, api_key[1], epoch, timeout)  # type: ignore[union-attr]
    return _from_cache(api_key)


def invalidate(hashed_key: str) -> None:
    invalidate_many([hashed_key])


def invalidate_many(hashed_keys: Iterable[str], marks: Iterable[str] = ()) -> None:
    """Replace the cached lookups with short-lived tombstones.

    A plain delete would race with a request that read the key from the
    database just before the change committed and caches it just after: it
    would serve a revoked key until ``KEY_CACHE_TIMEOUT``. The tombstone
    makes that request's ``add`` fail, and requests read through to the
    database for ``TOMBSTONE_TIMEOUT`` seconds.
    """
    if not apikeys_settings.KEY_CACHE_TIMEOUT:
        return
    # Tombstones go under the current mark and the marks other processes may
    # still use (until they read the outbox again, within OUTBOX_POLL_INTERVAL).
    try:
        marks = {outbox_mark(), *_outbox_state[2], *marks}
    except Exception:
        marks = {_outbox_state[0], *_outbox_state[2], *marks}
    try:
        cache = get_cache()
        generation = _generation(cache)
        cache.set_many(
            {_cache_key(h, generation, mark): TOMBSTONE for h in hashed_keys for mark in marks},
            TOMBSTONE_TIMEOUT,
        )
    except Exception:
        # The change is committed; failing the caller would not undo it. Its
        # outbox row keeps every process from reading the old entries (within
        # OUTBOX_POLL_INTERVAL), even if the cache comes back with its old data.
        logger.error(
            "Could not invalidate cached key lookups. The outbox covers it.", exc_info=True
        )


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
        logger.error(
            "Could not invalidate cached key lookups. The outbox covers it.", exc_info=True
        )


def claim_last_used(hashed_key: str, interval: int) -> bool:
    """True for the first caller per key per ``interval`` (cache ``add`` is atomic).

    ``False`` when the cache is unreachable: skipping a ``last_used`` write is
    better than writing on every request.
    """
    if cache_unavailable():
        return False
    try:
        return bool(get_cache().add(f"{LAST_USED_PREFIX}{hashed_key}", 1, interval))
    except Exception:
        cache_failed()
        logger.warning("Cache unavailable; last_used not updated.", exc_info=True)
        return False
