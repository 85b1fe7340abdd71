"""The invalidation outbox: a change is never hidden by what the cache kept.

The cache's contents are restored to a copy taken before the change, which is
what a Redis restarted from an older snapshot (or one that missed the
invalidation while partitioned) serves; the real Redis version of this runs in
``test_redis_faults.py``.
"""

from __future__ import annotations

import copy
import datetime
import pickle

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_apikeys import cache, services
from django_apikeys.models import CacheInvalidation
from tests.factories import MembershipFactory, make_key, role

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


@pytest.fixture
def cache_on(settings):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}


def _get(client, raw):
    return client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")


def _snapshot():
    store = caches["default"]
    return copy.deepcopy(dict(store._cache)), copy.deepcopy(dict(store._expire_info))


def _restore(snapshot):
    store = caches["default"]
    store._cache.clear()
    store._cache.update(snapshot[0])
    store._expire_info.clear()
    store._expire_info.update(snapshot[1])


def _elapse_poll_interval(monkeypatch):
    """Every process reads the outbox again within OUTBOX_POLL_INTERVAL."""
    monkeypatch.setattr(cache, "_outbox_state", ["", float("-inf"), ()])


@pytest.mark.parametrize(
    "change",
    ["revoke", "roll", "expire", "remove_member", "change_role"],
)
def test_change_holds_when_the_cache_comes_back_with_old_entries(
    cache_on, api_client, django_capture_on_commit_callbacks, monkeypatch, change
):
    membership = MembershipFactory(role=role("Owner"))
    other_owner = MembershipFactory(organization=membership.organization, role=role("Owner"))
    api_key, raw = make_key(membership.organization, "user", user=membership.user)
    assert _get(api_client, raw).status_code == 200
    assert _get(api_client, raw).status_code == 200  # now served by the cache
    before = _snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        if change == "revoke":
            services.revoke_key(api_key)
        elif change == "roll":
            services.roll_key(api_key, grace_period=datetime.timedelta(0))
        elif change == "expire":
            from django.utils import timezone

            api_key.expires_at = timezone.now() - datetime.timedelta(seconds=1)
            api_key.save(update_fields=["expires_at"])
        elif change == "remove_member":
            services.remove_member(membership, actor=other_owner.user)
        else:
            services.change_role(membership, role("Billing"), actor=other_owner.user)
    _restore(before)  # the cache lost the invalidation (restart from a snapshot)
    _elapse_poll_interval(monkeypatch)
    response = _get(api_client, raw)
    print(
        f"\n[outbox] {change}: after the cache came back from a snapshot: {response.status_code}"
    )
    if change == "change_role":  # still a member, but with Billing's grants now
        assert (
            api_client.get("/api/v1/clients", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code
            == 403
        )
    else:
        assert response.status_code == 401


def test_the_changing_process_sees_its_change_at_once(
    cache_on, api_client, monkeypatch, django_capture_on_commit_callbacks
):
    api_key, raw = make_key()
    assert _get(api_client, raw).status_code == 200
    assert _get(api_client, raw).status_code == 200
    before = _snapshot()
    monkeypatch.setattr(cache, "OUTBOX_POLL_INTERVAL", 3600.0)  # no poll would happen
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_key(api_key)
    _restore(before)
    assert _get(api_client, raw).status_code == 401


def test_every_change_writes_one_outbox_row_in_its_transaction(cache_on):
    membership = MembershipFactory()
    api_key, _raw = make_key(membership.organization)
    rows = CacheInvalidation.objects.count()
    services.revoke_key(api_key)
    assert CacheInvalidation.objects.count() == rows + 1
    assert CacheInvalidation.objects.latest("pk").hashed_keys == [api_key.hashed_key]


def test_no_outbox_rows_while_the_cache_is_off():
    api_key, _raw = make_key()
    services.revoke_key(api_key)
    assert not CacheInvalidation.objects.exists()


def test_outbox_is_read_at_most_once_per_interval(cache_on, api_client, monkeypatch):
    _api_key, raw = make_key()
    _get(api_client, raw)
    with CaptureQueriesContext(connection) as warm:
        for _ in range(20):
            assert _get(api_client, raw).status_code == 200
    assert len(warm.captured_queries) == 0
    _elapse_poll_interval(monkeypatch)
    with CaptureQueriesContext(connection) as polled:
        assert _get(api_client, raw).status_code == 200
    sql = [q["sql"] for q in polled.captured_queries]
    assert len(sql) == 1 and "cacheinvalidation" in sql[0].lower()


def test_pruning_moves_the_mark_forward(cache_on, monkeypatch):
    from django.utils import timezone

    CacheInvalidation.objects.create(hashed_keys=["a" * 64])
    CacheInvalidation.objects.update(created_at=timezone.now() - datetime.timedelta(days=1))
    before = cache.outbox_mark(refresh=True)
    monkeypatch.setattr(cache, "_last_prune", [float("-inf")])
    cache._prune_outbox("default")
    after = cache.outbox_mark(refresh=True)
    assert CacheInvalidation.objects.count() == 1  # the old row went, a marker came
    assert after != before


def test_cached_key_carries_no_password_hash(cache_on, api_client):
    membership = MembershipFactory()
    membership.user.set_password("s3cret-pass")
    membership.user.save()
    _api_key, raw = make_key(membership.organization, "user", user=membership.user)
    assert _get(api_client, raw).status_code == 200
    store = caches["default"]
    entries = [v for k, v in store._cache.items() if "apikeys:key:" in k]
    assert entries
    password_hash = membership.user.password
    for blob in entries:
        assert password_hash.encode() not in blob
        cached = cache._from_cache(pickle.loads(blob))
        assert "password" not in cached.user.__dict__
    assert _get(api_client, raw).json()["key_hint"]  # and the cached key still works
