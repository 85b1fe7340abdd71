"""The in-process tier of the key-lookup cache against a real redis-server:
no round trip on a warm lookup (counted by Redis, ``INFO commandstats``),
every change Redis reports drops the entry before the next lookup, a broken
tracking connection empties the tier, its size is bounded (LRU), and cached
entries carry their format."""

from __future__ import annotations

import pickle

import pytest

from django_apikeys import cache as key_cache
from django_apikeys import keys
from tests.factories import make_key
from tests.test_cache_backends import ME, redis_cache, redis_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _made(server, before) -> dict[str, int]:
    after = server.calls()
    made = {name: after[name] - before.get(name, 0) for name in after}
    return {name: n for name, n in made.items() if n and name != "info"}


def _warm(api_client, raw: str) -> None:
    for _ in range(3):  # miss + add; read from Redis and kept; then from memory
        assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def _get(api_client, raw: str):
    return api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Each test as a fresh process: no tier, no recent cache failure (a test
    that kills Redis leaves both waiting for their retry interval)."""
    for tier in key_cache._tiers.values():
        tier.close()
    key_cache._tiers.clear()
    key_cache._cache_down_until[0] = float("-inf")


@pytest.fixture
def tier_on(settings, redis_cache):  # noqa: F811
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300, "METERING": False}
    return redis_cache


def _revoke_without_signal(api_key) -> None:
    """Change the key in the database only: no outbox row, so the outbox mark
    does not move and only Redis' report can make the tier drop the entry."""
    type(api_key).objects.filter(pk=api_key.pk).update(is_active=False)


def test_warm_lookup_makes_no_round_trip(tier_on, redis_server, api_client):  # noqa: F811
    _api_key, raw = make_key()
    _warm(api_client, raw)
    before = redis_server.calls()
    for _ in range(3):
        assert _get(api_client, raw).status_code == 200
    assert _made(redis_server, before) == {}


def test_tier_off_asks_redis_once(settings, redis_cache, redis_server, api_client):  # noqa: F811
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300, "METERING": False, "KEY_CACHE_LOCAL_ENTRIES": 0}
    _api_key, raw = make_key()
    _warm(api_client, raw)
    before = redis_server.calls()
    assert _get(api_client, raw).status_code == 200
    assert _made(redis_server, before) == {"mget": 1}


def test_an_invalidation_reported_by_redis_drops_the_entry(tier_on, api_client):
    api_key, raw = make_key()
    _warm(api_client, raw)
    _revoke_without_signal(api_key)
    assert _get(api_client, raw).status_code == 200  # served from memory: nothing said
    key_cache.invalidate_many([api_key.hashed_key])  # what any process does on commit
    response = _get(api_client, raw)
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")


def test_a_generation_change_empties_the_tier(tier_on, api_client):
    api_key, raw = make_key()
    _warm(api_client, raw)
    _revoke_without_signal(api_key)
    key_cache.invalidate_all()  # a role, plan or organization change
    assert _get(api_client, raw).status_code == 401


def test_a_flush_empties_the_tier(tier_on, redis_server, api_client):  # noqa: F811
    api_key, raw = make_key()
    _warm(api_client, raw)
    _revoke_without_signal(api_key)
    redis_server.client().flushall()
    assert _get(api_client, raw).status_code == 401


def test_a_committed_revocation_is_refused_at_the_next_request(
    tier_on, api_client, django_capture_on_commit_callbacks
):
    from django_apikeys import services

    api_key, raw = make_key()
    _warm(api_client, raw)
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_key(api_key)
    assert _get(api_client, raw).status_code == 401


@pytest.mark.parametrize("restart", [False, True])
def test_a_lost_tracking_connection_empties_the_tier(
    tier_on,
    redis_server,  # noqa: F811
    api_client,
    restart,
):
    api_key, raw = make_key()
    _warm(api_client, raw)
    tier = key_cache.local_tier(tier_on)
    assert tier is not None and tier.entries
    redis_server.kill()  # killed: no invalidation can arrive any more
    _revoke_without_signal(api_key)
    if restart:
        redis_server.start()  # empty, and our tracking registration with it
    response = _get(api_client, raw)
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")
    assert not tier.entries
    if not restart:
        redis_server.start()


def test_the_tier_keeps_at_most_its_size_least_recently_used_out(
    settings,
    redis_cache,  # noqa: F811
    redis_server,  # noqa: F811
    api_client,
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300, "METERING": False, "KEY_CACHE_LOCAL_ENTRIES": 2}
    made = [make_key() for _ in range(3)]
    for _key, raw in made:
        _warm(api_client, raw)
    tier = key_cache.local_tier(redis_cache)
    assert tier is not None
    assert list(tier.entries) == [made[1][0].hashed_key, made[2][0].hashed_key]
    before = redis_server.calls()
    assert _get(api_client, made[0][1]).status_code == 200  # evicted: asks Redis
    assert _made(redis_server, before) == {"mget": 1}
    assert list(tier.entries) == [made[2][0].hashed_key, made[0][0].hashed_key]


def test_an_entry_in_another_format_is_never_unpacked(tier_on, redis_server, api_client):  # noqa: F811
    """An upgrade (of the app or of Django) reads its own entries: one written
    by another version, even under the same cache key, is ignored."""
    api_key, raw = make_key()
    _warm(api_client, raw)
    _revoke_without_signal(api_key)
    digest = keys.hash_key(raw)
    cache_key = key_cache._cache_key(
        digest, key_cache._generation(tier_on), key_cache.outbox_mark()
    )
    assert key_cache.FORMAT in cache_key
    old = ("apikeys:packed:0.0.1-4.2", pickle.loads(pickle.dumps(tier_on.get(cache_key)))[1])
    tier_on.set(cache_key, old, 300)  # as an older version would have written it
    response = _get(api_client, raw)  # the write dropped the tier entry; Redis has "old"
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")


def test_the_format_names_the_app_and_django_versions():
    import django

    from django_apikeys import __version__

    assert key_cache.FORMAT == f"{__version__}-{django.get_version()}"
    assert key_cache._PACKED.endswith(key_cache.FORMAT)


def test_each_hit_gets_its_own_instances(tier_on, api_client):
    """Entries are shared by the requests of a process: what one request does
    to its key (a JSON list edited in place) is not seen by the next."""
    api_key, raw = make_key(scopes=["products:read"])
    _warm(api_client, raw)
    first = key_cache.fetch(api_key.hashed_key, lambda: None)
    first.scopes.append("products:write")
    first.organization.name = "changed in memory"
    second = key_cache.fetch(api_key.hashed_key, lambda: None)
    assert second is not first and second.scopes == ["products:read"]
    assert second.organization.name != "changed in memory"


def test_oauth_grants_share_the_tier(tier_on):
    """OAuth grants are cached under names with a colon (``oauthgrant:<id>``):
    kept in memory like keys, and dropped when Redis reports their change."""
    api_key, _raw = make_key()
    name = f"oauthgrant:{api_key.pk}"
    loads = []

    def load():
        loads.append(1)
        return type(api_key).objects.get(pk=api_key.pk)

    for _ in range(3):  # loaded and cached; read from Redis and kept; from memory
        assert key_cache.fetch(name, load).pk == api_key.pk
    tier = key_cache.local_tier(tier_on)
    assert len(loads) == 1 and name in tier.entries
    key_cache.invalidate_many([name])
    key_cache.fetch(name, load)
    assert len(loads) == 2 and name not in tier.entries
