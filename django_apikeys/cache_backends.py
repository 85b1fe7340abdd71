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
  call it on every request.

Use it in place of Django's::

    CACHES = {"default": {"BACKEND": "django_apikeys.cache_backends.RedisCache", "LOCATION": ...}}

Every option of Django's backend works unchanged.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

__all__ = ["RedisCache", "RedisCacheClient"]


#: INCRBY only if the key exists (else nil): Django's ``incr`` contract in one call.
_INCR_EXISTING = """
if redis.call('exists', KEYS[1]) == 1 then
    return redis.call('incrby', KEYS[1], ARGV[1])
end
return false
"""


class RedisCacheClient(DjangoRedisCacheClient):
    """Django's client, handing out one ``redis.Redis`` per connection pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._scripts: dict[int, Any] = {}
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
