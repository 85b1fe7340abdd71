"""The optional key-lookup cache: zero queries when warm, never a stale revoked key."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_apikeys import cache, keys, services
from django_apikeys.models import APIKey, Organization, Role
from tests.factories import MembershipFactory, PlanFactory, make_key, role

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
CLIENTS = "/api/v1/clients"


@pytest.fixture
def cache_on(settings):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}


def get(client, raw, path=ME):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")


def queries_for(client, raw, path=ME):
    with CaptureQueriesContext(connection) as captured:
        response = get(client, raw, path)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


@pytest.mark.parametrize("key_type", ["server", "user"])
@pytest.mark.parametrize(("timeout", "expected"), [(0, 1), (300, 0)])
def test_queries_per_request(settings, api_client, timeout, expected, key_type):
    """One indexed query per request without the cache, none on a warm cache
    (user keys too: the owner's role grants come with the key)."""
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": timeout}
    if key_type == "user":
        membership = MembershipFactory()
        _, raw = make_key(membership.organization, "user", user=membership.user)
    else:
        _, raw = make_key()
    get(api_client, raw)  # warms the cache and writes last_used once
    assert [queries_for(api_client, raw) for _ in range(3)] == [expected] * 3


def test_user_key_warm_cache_makes_no_query(cache_on, api_client):
    membership = MembershipFactory()
    _, raw = make_key(membership.organization, "user", user=membership.user)
    get(api_client, raw, CLIENTS)
    assert queries_for(api_client, raw, CLIENTS) == 1  # the view's own list query


def test_revoked_key_is_refused_on_the_next_request(
    cache_on, api_client, django_capture_on_commit_callbacks
):
    api_key, raw = make_key()
    assert get(api_client, raw).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_key(api_key)
    response = get(api_client, raw)
    assert response.status_code == 401
    assert response.json()["code"] == "key_revoked"


def test_rolled_key_without_grace_is_refused_and_new_one_works(
    cache_on, api_client, django_capture_on_commit_callbacks
):
    api_key, raw = make_key()
    get(api_client, raw)
    with django_capture_on_commit_callbacks(execute=True):
        _, new_raw = services.roll_key(api_key, grace_period=datetime.timedelta(0))
    assert get(api_client, raw).json()["code"] == "key_revoked"
    assert get(api_client, new_raw).status_code == 200


def test_rolled_key_with_grace_expires_while_cached(
    cache_on, api_client, django_capture_on_commit_callbacks
):
    api_key, raw = make_key()
    get(api_client, raw)
    with django_capture_on_commit_callbacks(execute=True):
        services.roll_key(api_key, grace_period=datetime.timedelta(hours=1))
    assert get(api_client, raw).status_code == 200  # in its grace period
    assert queries_for(api_client, raw) == 1  # read through while the tombstone lives
    later = timezone.now() + datetime.timedelta(hours=2)
    with mock.patch("django_apikeys.services.resolution.timezone.now", return_value=later):
        assert get(api_client, raw).json()["code"] == "key_expired"


def test_removed_member_key_is_refused(cache_on, api_client, django_capture_on_commit_callbacks):
    membership = MembershipFactory(role=role("Manager"))
    MembershipFactory(organization=membership.organization)  # keeps an Owner
    _, raw = make_key(membership.organization, "user", user=membership.user)
    assert get(api_client, raw).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_member(membership)
    assert get(api_client, raw).json()["code"] == "key_revoked"


def test_role_change_is_seen_on_the_next_request(
    cache_on, api_client, django_capture_on_commit_callbacks
):
    membership = MembershipFactory(role=role("Manager"))
    MembershipFactory(organization=membership.organization)
    _, raw = make_key(membership.organization, "user", user=membership.user)
    assert get(api_client, raw, CLIENTS).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.change_role(membership, role("Billing"))
    assert get(api_client, raw, CLIENTS).json()["code"] == "insufficient_scope"


def test_role_edit_drops_every_cached_key(
    cache_on, api_client, django_capture_on_commit_callbacks
):
    membership = MembershipFactory(role=role("Manager"))
    _, raw = make_key(membership.organization, "user", user=membership.user)
    assert get(api_client, raw, CLIENTS).status_code == 200
    manager = Role.objects.get(name="Manager")
    with django_capture_on_commit_callbacks(execute=True):
        manager.scopes = ["billing:*"]
        manager.save()
    assert get(api_client, raw, CLIENTS).json()["code"] == "insufficient_scope"


def test_key_edit_and_delete_invalidate(cache_on, api_client, django_capture_on_commit_callbacks):
    api_key, raw = make_key()
    get(api_client, raw)
    with django_capture_on_commit_callbacks(execute=True):
        api_key.scopes = ["invoices:read"]
        api_key.save()
    assert get(api_client, raw, CLIENTS).json()["code"] == "insufficient_scope"
    with django_capture_on_commit_callbacks(execute=True):
        api_key.delete()
    assert get(api_client, raw).json()["code"] == "invalid_key"


def test_organization_delete_invalidates(cache_on, api_client, django_capture_on_commit_callbacks):
    api_key, raw = make_key()
    get(api_client, raw)
    with django_capture_on_commit_callbacks(execute=True):
        Organization.objects.get(pk=api_key.organization_id).delete()
    assert get(api_client, raw).json()["code"] == "invalid_key"


def test_unknown_keys_are_not_cached(cache_on):
    load = mock.Mock(return_value=None)
    assert cache.fetch("0" * 64, load) is None
    assert cache.fetch("0" * 64, load) is None
    assert load.call_count == 2


def test_cache_off_always_loads(settings):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 0}
    api_key, _ = make_key()
    load = mock.Mock(return_value=api_key)
    cache.fetch(api_key.hashed_key, load)
    cache.fetch(api_key.hashed_key, load)
    assert load.call_count == 2


def test_invalidation_racing_a_lookup_never_caches_the_stale_key(cache_on):
    """A request loads the key, the key is revoked and invalidated before the
    request stores it: the stale copy must not be served afterwards."""
    api_key, raw = make_key()
    digest = keys.hash_key(raw)
    stale = services.key_queryset().get(pk=api_key.pk)

    def load_then_race():
        APIKey.objects.filter(pk=api_key.pk).update(is_active=False)
        cache.invalidate(digest)  # another process commits the revocation now
        return stale

    assert cache.fetch(digest, load_then_race).is_active is True  # this request's own read
    fresh = cache.fetch(digest, lambda: services.key_queryset().get(pk=api_key.pk))
    assert fresh.is_active is False
    key = cache._cache_key(digest, cache._generation(cache.get_cache()), cache.outbox_mark())
    assert cache.get_cache().get(key) == cache.TOMBSTONE
    with pytest.raises(Exception) as refused:
        services.resolve_key(raw)
    assert getattr(refused.value, "default_code", "") == "key_revoked"


def test_tombstone_expires_and_caching_resumes(cache_on):
    api_key, raw = make_key()
    digest = keys.hash_key(raw)
    cache.invalidate(digest)
    load = mock.Mock(side_effect=lambda: services.key_queryset().get(pk=api_key.pk))
    cache.fetch(digest, load)
    cache.fetch(digest, load)
    assert load.call_count == 2  # read through while the tombstone lives
    key = cache._cache_key(digest, cache._generation(cache.get_cache()), cache.outbox_mark())
    cache.get_cache().delete(key)  # as when TOMBSTONE_TIMEOUT passes
    cache.fetch(digest, load)
    cache.fetch(digest, load)
    assert load.call_count == 3


def test_plan_change_bumps_the_generation(cache_on, django_capture_on_commit_callbacks):
    store = cache.get_cache()
    before = cache._generation(store)
    with django_capture_on_commit_callbacks(execute=True):
        PlanFactory()
    assert cache._generation(store) == before + 1


@pytest.mark.parametrize("timeout", [0, 300])
def test_unreachable_cache_falls_back_to_the_database(settings, api_client, timeout):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": timeout}
    _, raw = make_key()
    error = ConnectionError("cache down")
    down = mock.patch.multiple(
        "django.core.cache.backends.locmem.LocMemCache",
        get=mock.Mock(side_effect=error),
        add=mock.Mock(side_effect=error),
        incr=mock.Mock(side_effect=error),
        set=mock.Mock(side_effect=error),
    )
    with down, CaptureQueriesContext(connection) as captured:
        assert get(api_client, raw).status_code == 200
        assert get(api_client, raw).status_code == 200
    updates = [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert updates == []  # no last_used write per request while the cache is down


def test_failed_invalidation_is_logged_not_raised(cache_on, caplog):
    with mock.patch(
        "django.core.cache.backends.locmem.LocMemCache.set_many",
        side_effect=ConnectionError("cache down"),
    ):
        cache.invalidate("0" * 64)
    assert "Could not invalidate cached key lookups." in caplog.text


def test_lost_generation_never_revives_old_entries(cache_on):
    """If the generation number is evicted, the new one is above every old one."""
    store = cache.get_cache()
    first = cache._generation(store)
    cache.invalidate_all()
    cache.invalidate_all()
    store.delete(cache.GENERATION_KEY)  # evicted a second later
    with mock.patch("django_apikeys.cache.time.time", return_value=first / 1000 + 1):
        assert cache._generation(store) > first + 2


def test_stale_cached_last_used_costs_one_claim_per_process(cache_on, api_client):
    """A cached copy keeps its old last_used: the process claims the write once,
    not once per request."""
    from django.core.cache import cache as default_cache

    api_key, raw = make_key()
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    APIKey.objects.filter(pk=api_key.pk).update(last_used=long_ago)
    adds = []
    real_add = default_cache.add

    def spy(key, *args, **kwargs):
        if "apikeys:lu:" in str(key):
            adds.append(key)
        return real_add(key, *args, **kwargs)

    with mock.patch.object(default_cache, "add", side_effect=spy):
        for _ in range(5):
            assert get(api_client, raw).status_code == 200
    assert len(adds) == 1
    api_key.refresh_from_db()
    assert api_key.last_used > long_ago
