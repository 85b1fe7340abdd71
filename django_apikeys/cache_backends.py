"""Django's ``RedisCache``, reusing its Redis client.

Django's :class:`~django.core.cache.backends.redis.RedisCache` builds a new
``redis.Redis`` object around its connection pool for every cache call, and
redis-py's constructor rebuilds its table of about 170 response callbacks each
time (redis-py issue #3624). On the hot path that construction costs more than
the round trip to Redis itself. This backend is Django's, with two changes:

* one client per connection pool, built once and reused (``redis.Redis`` is
  thread-safe; its connections still come from the pool);
* ``incr`` in one round trip, atomically: Django's checks that the key
  exists, then increments (two round trips, and a key expiring in between is
  recreated without a timeout); here one server-side script does both.
  Rate limits (django-ratelimit's ``add`` + ``incr``) and usage metering
  call it on every request;
* :meth:`RedisCache.count`: every counter of a request (each rate-limit
  window, then the usage meter) checked and counted in **one** round trip,
  by one server-side script. :mod:`django_apikeys.throttling` uses it when
  the rate-limit cache is this backend; other backends count through
  django-ratelimit, one window at a time.

Use it in place of Django's::

    CACHES = {"default": {"BACKEND": "django_apikeys.cache_backends.RedisCache", "LOCATION": ...}}

Every option of Django's backend works unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

__all__ = ["Counter", "Meter", "RedisCache", "RedisCacheClient"]


#: INCRBY only if the key exists (else nil): Django's ``incr`` contract in one call.
_INCR_EXISTING = """
if redis.call('exists', KEYS[1]) == 1 then
    return redis.call('incrby', KEYS[1], ARGV[1])
end
return false
"""

#: Every counter of a request in one call. For each window in order: INCR,
#: set its expiry when this call created it (django-ratelimit's ``add`` then
#: ``incr``, one step), and stop at the first count over its limit (the later
#: windows are not spent, as when django-ratelimit is called one window at a
#: time). Then, only if every window admitted the request, the usage meter:
#: INCR the counter and, when this call created it (it did not exist: a
#: counter a flush brought down to 0 is still registered), register it in its
#: organization's index for the hour and the organization in the hour's
#: index (:mod:`django_apikeys.metering`, the same keys and values).
#:
#: KEYS: the n window keys, then (metering) counter, organization index,
#: hour index. ARGV: n, metering (0/1), each window's limit and expiry,
#: then (metering) the counters' expiry, the organization slot prefix and
#: value, the hour slot prefix and value. Returns {refused window or 0, counts}.
_COUNT = """
local n = tonumber(ARGV[1])
local counts = {}
for i = 1, n do
    local count = redis.call('incr', KEYS[i])
    if count == 1 then
        redis.call('expire', KEYS[i], ARGV[2 + 2 * i])
    end
    counts[i] = count
    if count > tonumber(ARGV[1 + 2 * i]) then
        return {i, counts}
    end
end
if ARGV[2] == '1' then
    local m = 3 + 2 * n
    local ttl = ARGV[m]
    -- A counter a flush brought down to 0 exists: it is registered already.
    local created = redis.call('exists', KEYS[n + 1]) == 0
    redis.call('incr', KEYS[n + 1])
    if created then
        redis.call('expire', KEYS[n + 1], ttl)
        local slot = redis.call('incr', KEYS[n + 2])
        if slot == 1 then
            redis.call('expire', KEYS[n + 2], ttl)
        end
        redis.call('set', ARGV[m + 1] .. slot, ARGV[m + 2], 'EX', ttl)
        if slot == 1 then
            local org = redis.call('incr', KEYS[n + 3])
            if org == 1 then
                redis.call('expire', KEYS[n + 3], ttl)
            end
            redis.call('set', ARGV[m + 3] .. org, ARGV[m + 4], 'EX', ttl)
        end
    end
end
return {0, counts}
"""


@dataclass(frozen=True)
class Counter:
    """One rate-limit window: its cache key (before ``make_key``), its limit,
    and the expiry (seconds) a counter created by this call gets."""

    key: str
    limit: int
    timeout: int


@dataclass(frozen=True)
class Meter:
    """The usage counter of a request and where a new one registers.

    Keys are cache keys before ``make_key``; a slot key is its prefix
    followed by the slot's number; values are what ``cache.set`` stores.
    """

    counter: str
    org_index: str
    org_slot_prefix: str
    org_slot_value: str
    hour_index: str
    hour_slot_prefix: str
    hour_slot_value: str
    timeout: int


class RedisCacheClient(DjangoRedisCacheClient):
    """Django's client, handing out one ``redis.Redis`` per connection pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._scripts: dict[Any, Any] = {}
        self._clients_lock = threading.Lock()

    def incr(self, key: Any, delta: int) -> Any:
        client = self.get_client(key, write=True)
        script = self._scripts.get(id(client))
        if script is None:  # redis-py's Script: EVALSHA, loading it again after a restart
            script = self._scripts[id(client)] = client.register_script(_INCR_EXISTING)
        value = script(keys=[key], args=[delta], client=client)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def run_script(self, source: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run the Lua ``source`` on the write server: one EVALSHA (redis-py's
        ``Script`` loads it again after a restart)."""
        client = self.get_client(write=True)
        cache_key = (id(client), source)
        script = self._scripts.get(cache_key)
        if script is None:
            script = self._scripts[cache_key] = client.register_script(source)
        return script(keys=list(keys), args=list(args), client=client)

    def encode(self, value: Any) -> Any:
        """``value`` as ``set`` stores it (Django's serializer)."""
        return self._serializer.dumps(value)  # type: ignore[attr-defined]  # Django's, private

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Private attributes of Django's client (not in django-stubs), stable since 4.0.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            with self._clients_lock:
                client = self._clients.get(id(pool))
                if client is None:
                    client = self._clients[id(pool)] = self._client(  # type: ignore[attr-defined]
                        connection_pool=pool
                    )
        return client


class RedisCache(DjangoRedisCache):
    """Django's ``RedisCache`` with :class:`RedisCacheClient`."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def can_meter_for(self, other: Any) -> bool:
        """Whether :meth:`count` can count ``other``'s usage meter: ``other`` is
        this backend on the same Redis servers and options, and its cache keys
        end with the key they are made from (the default ``KEY_FUNCTION``), so
        the script can number slot keys."""
        if not (
            isinstance(other, RedisCache)
            # Django's RedisCache attributes (not in django-stubs), stable since 4.0.
            and other._servers == self._servers  # type: ignore[attr-defined]
            and other._options == self._options  # type: ignore[attr-defined]
        ):
            return False
        made = other.make_key
        return bool(made("apikeys:probe:7") == made("apikeys:probe:") + "7")

    def count(
        self, counters: Sequence[Counter], meter: Meter | None = None, *, meter_cache: Any = None
    ) -> tuple[int, list[int]]:
        """Check and count ``counters`` in order, then ``meter``, in one round trip.

        Returns ``(refused, counts)``: ``refused`` is the 1-based position of
        the first counter whose count went over its limit (0: none; the
        meter is counted only then), ``counts`` the counts reached, up to
        the refusing one. ``meter`` keys are made by ``meter_cache`` (default:
        this cache), which must share this cache's server
        (:meth:`can_meter_for`). Raises what redis-py raises when Redis
        cannot be reached.
        """
        client = cast(RedisCacheClient, self._cache)
        # make_key, not make_and_validate_key: the keys are the app's own (short,
        # ASCII), and memcached's key checks would cost more than the script.
        keys = [self.make_key(counter.key) for counter in counters]
        args: list[Any] = [len(counters), 1 if meter is not None else 0]
        for counter in counters:
            args += [counter.limit, counter.timeout]
        if meter is not None:
            made = (meter_cache or self).make_key
            keys += [made(meter.counter), made(meter.org_index), made(meter.hour_index)]
            args += [
                meter.timeout,
                made(meter.org_slot_prefix),
                client.encode(meter.org_slot_value),
                made(meter.hour_slot_prefix),
                client.encode(meter.hour_slot_value),
            ]
        refused, counts = client.run_script(_COUNT, keys, args)
        return int(refused), [int(count) for count in counts]
