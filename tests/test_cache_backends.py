"""``django_apikeys.cache_backends.RedisCache`` against a real redis-server:
Django's backend with one reused client, and the warm key lookup in one
round trip (counted by Redis itself, ``INFO commandstats``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches

from django_apikeys import cache as key_cache
from tests.factories import make_key
from tests.live.conftest import _free_port, _stop, _wait_for
from tests.needs import missing

BACKEND = "django_apikeys.cache_backends.RedisCache"
ME = "/api/v1/me"


class RedisServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="apikeys-redis-")
        self.process: subprocess.Popen[bytes] | None = None
        self._stats: Any = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1"]
            + ["--port", str(self.port), "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(lambda: self.client().ping(), "redis-server")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)

    def calls(self) -> dict[str, int]:
        """Commands run so far, by name (read on one connection: no ``hello``)."""
        if self._stats is None:
            self._stats = self.client()
        stats = self._stats.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        missing("needs redis-server")
    server = RedisServer()
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        _stop(server.process)
    shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture
def redis_cache(settings, redis_server):
    redis_server.client().flushall()
    settings.CACHES = {
        "default": {
            "BACKEND": BACKEND,
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
    yield caches["default"]
    caches["default"].close()


def test_is_djangos_backend_with_one_client(redis_cache):
    client = redis_cache._cache
    assert client.get_client() is client.get_client("any-key")
    assert client.get_client() is client.get_client(write=True)  # one server: one pool
    redis_cache.set("a", {"b": 1}, 30)
    assert redis_cache.get("a") == {"b": 1}
    assert redis_cache.get_many(["a", "missing"]) == {"a": {"b": 1}}
    assert redis_cache.add("n", 1, 30) and not redis_cache.add("n", 5, 30)
    assert redis_cache.incr("n", 2) == 3
    redis_cache.delete("a")
    assert redis_cache.get("a") is None


def test_one_client_serves_threads(redis_cache):
    redis_cache.set("count", 0, 60)

    def work() -> None:
        for _ in range(100):
            redis_cache.incr("count")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert redis_cache.get("count") == 800


def test_reused_client_reconnects_after_redis_restarts(redis_cache, redis_server):
    redis_cache.set("before", 1, 60)
    redis_server.kill()
    with pytest.raises(Exception):  # noqa: B017 - redis-py's ConnectionError
        redis_cache.get("before")
    redis_server.start()  # same port, empty (no persistence)
    assert redis_cache.get("before") is None
    redis_cache.set("after", 2, 60)
    assert redis_cache.get("after") == 2


@pytest.mark.django_db
def test_warm_key_lookup_is_one_round_trip(redis_cache, redis_server, settings, api_client):
    # Without the in-process tier (tests/test_local_tier.py: no round trip).
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300, "METERING": False, "KEY_CACHE_LOCAL_ENTRIES": 0}
    _api_key, raw = make_key()
    header = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    for _ in range(2):  # the first request loads and caches the key
        assert api_client.get(ME, **header).status_code == 200
    before = redis_server.calls()
    assert api_client.get(ME, **header).status_code == 200
    after = redis_server.calls()
    made = {name: after[name] - before.get(name, 0) for name in after}
    made.pop("info", None)
    assert {name: n for name, n in made.items() if n} == {"mget": 1}


@pytest.mark.django_db
def test_a_generation_change_is_seen_in_the_same_round_trip(redis_cache, settings, api_client):
    """The entry read together with the generation is the one under the
    current generation: after a role change (the generation moves) the old
    entry is never served."""
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300, "METERING": False}
    api_key, raw = make_key()
    header = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert api_client.get(ME, **header).status_code == 200
    assert api_client.get(ME, **header).status_code == 200
    type(api_key).objects.filter(pk=api_key.pk).update(is_active=False)  # no signal
    key_cache.invalidate_all()  # what a role, plan or organization change does
    response = api_client.get(ME, **header)
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")


def test_incr_is_one_atomic_round_trip(redis_cache, redis_server):
    redis_cache.set("hits", 5, 60)
    with pytest.raises(ValueError):
        redis_cache.incr("absent")
    assert redis_cache.get("absent") is None  # not created by the failed incr
    redis_cache.incr("hits")  # loads the script once
    before = redis_server.calls()
    assert redis_cache.incr("hits", 3) == 9
    after = redis_server.calls()
    made = {name: after[name] - before.get(name, 0) for name in after}
    # One command from the client; Redis also counts the two the script runs inside it.
    assert {name: n for name, n in made.items() if n and name != "info"} == {
        "evalsha": 1,
        "exists": 1,
        "incrby": 1,
    }
    assert redis_server.client().ttl(redis_cache.make_key("hits")) > 0  # timeout kept


def test_incr_survives_a_restart_that_forgot_the_script(redis_cache, redis_server):
    redis_cache.set("n", 1, 60)
    assert redis_cache.incr("n") == 2
    redis_server.kill()
    redis_server.start()  # empty: no key, no script
    with pytest.raises(ValueError):
        redis_cache.incr("n")
    redis_cache.set("n", 10, 60)
    assert redis_cache.incr("n") == 11
