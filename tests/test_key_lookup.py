"""The compiled hot-path lookup builds exactly what the ORM queryset builds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from django_apikeys import keys, services
from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, PlanFactory, make_key, role

pytestmark = pytest.mark.django_db


def snapshot(api_key: APIKey) -> dict:
    org = api_key.organization
    return {
        "key": {f.attname: getattr(api_key, f.attname) for f in APIKey._meta.concrete_fields},
        "organization": model_to_dict(org),
        "plan": model_to_dict(org.plan) if org.plan else None,
        "user": model_to_dict(api_key.user) if api_key.user_id else None,
        "member_permissions": api_key.member_permissions,
        "member_scopes": api_key.member_scopes,
        "state": (api_key._state.adding, api_key._state.db, org._state.adding),
    }


def key_in_organization(key_type: str, with_plan: bool):
    """A key of ``key_type`` in an organization (with a plan or not), its
    organization, owner (user keys) and raw key."""
    membership = MembershipFactory(role=role("Editor"))
    org = membership.organization
    if with_plan:
        org.plan = PlanFactory(entitlements=["reports"], rate_limit_per_minute=5)
        org.save()
    user = membership.user if key_type == "user" else None
    api_key, raw = make_key(org, key_type, user=user, scopes=["products:read"])
    return api_key, org, user, raw


def reference(api_key: APIKey) -> APIKey:
    return services.key_queryset().get(pk=api_key.pk)


@pytest.mark.parametrize("with_plan", [False, True])
@pytest.mark.parametrize("key_type", ["server", "publishable", "user"])
def test_compiled_lookup_equals_queryset(key_type, with_plan):
    api_key, org, user, raw = key_in_organization(key_type, with_plan)
    loaded = services.fetch_key(keys.hash_key(raw), key_type)
    expected = reference(api_key)
    if key_type != "user":
        expected.member_permissions = expected.member_scopes = None
    assert snapshot(loaded) == snapshot(expected)
    # related objects are wired both ways, as select_related does
    assert loaded.organization.pk == org.pk
    if user:
        assert loaded.user.pk == user.pk
        assert loaded.member_scopes == ["offers:*", "products:*"]


def test_user_key_of_removed_member_has_no_grants():
    membership = MembershipFactory()
    MembershipFactory(organization=membership.organization)  # another owner
    api_key, raw = make_key(membership.organization, "user", user=membership.user)
    membership.delete()
    loaded = services.fetch_key(keys.hash_key(raw), "user")
    assert loaded.member_permissions is None and loaded.member_scopes is None


def test_unknown_hash_is_none():
    assert services.fetch_key(keys.hash_key(keys.generate("sk")), "server") is None
    assert services.fetch_key("0" * 64) is None


def test_user_on_an_organization_type_key_falls_back_to_the_full_query():
    membership = MembershipFactory()
    api_key, raw = make_key(membership.organization, "server")
    APIKey.objects.filter(pk=api_key.pk).update(user=membership.user)  # corrupt row
    loaded = services.fetch_key(keys.hash_key(raw), "server")
    assert loaded.user_id == membership.user.pk
    assert loaded.member_permissions == reference(api_key).member_permissions


@pytest.mark.django_db(transaction=True)
def test_lookup_survives_a_new_connection():
    api_key, raw = make_key()
    assert services.fetch_key(keys.hash_key(raw), "server").pk == api_key.pk
    connection.close()
    assert services.fetch_key(keys.hash_key(raw), "server").pk == api_key.pk


def test_any_compile_error_falls_back_to_the_queryset_and_is_logged_once(monkeypatch, caplog):
    """The compiled lookup reads Django internals: if they change, any error while
    compiling leaves the plain queryset to do the work, and says so once."""
    from django_apikeys import _compiled_lookup

    def broken(*args, **kwargs):
        raise KeyError("select_fields")  # what a renamed compiler attribute would raise

    monkeypatch.setattr(_compiled_lookup.CompiledLookup, "__init__", broken)
    monkeypatch.setattr(_compiled_lookup, "_lookups", type(_compiled_lookup._lookups)())
    monkeypatch.setattr(_compiled_lookup, "_failures_logged", set())
    api_key, raw = make_key()
    with caplog.at_level("WARNING", logger="django_apikeys"):
        for _ in range(3):
            assert services.fetch_key(keys.hash_key(raw), "server").pk == api_key.pk
    warnings = [r for r in caplog.records if "could not be compiled" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize("with_plan", [False, True])
@pytest.mark.parametrize("key_type", ["server", "publishable", "user"])
def test_cached_lookup_equals_queryset(settings, key_type, with_plan):
    """The lookup cache's packed form rebuilds what the database lookup builds
    (less the owner's password hash, loaded on demand like a deferred field)."""
    from django_apikeys import cache

    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}
    _api_key, org, user, raw = key_in_organization(key_type, with_plan)
    digest = keys.hash_key(raw)
    loaded = services.fetch_key(digest, key_type)  # a miss: loaded, then cached
    cached = services.fetch_key(digest, key_type)  # a hit: from the packed form
    assert cached is not loaded
    if user:
        assert "password" not in cached.user.__dict__
        assert cached.user.password == user.password  # deferred: loaded on demand
    assert snapshot(cached) == snapshot(loaded)
    assert cached.organization.pk == org.pk and cached._state.adding is False
    assert cache._from_cache(cache.TOMBSTONE) == cache.TOMBSTONE


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (run under scripts/with-postgres.sh)")


@pytest.mark.postgres
@pytest.mark.parametrize("prepare", [True, False])
@pytest.mark.parametrize("key_type", ["server", "user"])
def test_prepared_and_plain_lookups_equal_the_queryset(postgresql, settings, prepare, key_type):
    """On PostgreSQL the lookup is a prepared statement (or, turned off, the
    plain statement): both build what the queryset builds, request after request."""
    from django.test.utils import CaptureQueriesContext

    from django_apikeys import _compiled_lookup

    settings.APIKEYS = {"PREPARE_KEY_LOOKUP": prepare}
    expected_mode = _compiled_lookup.PREPARED_BY_APP if prepare else _compiled_lookup.NOT_PREPARED
    assert _compiled_lookup.prepare_mode(connection) == expected_mode
    api_key, _org, _user, raw = key_in_organization(key_type, with_plan=True)
    expected = reference(api_key)
    if key_type != "user":
        expected.member_permissions = expected.member_scopes = None
    statements = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            loaded = services.fetch_key(keys.hash_key(raw), key_type)
        assert snapshot(loaded) == snapshot(expected)
        assert len(captured) == 1  # PREPARE travels with the first EXECUTE
        statements.append(captured[0]["sql"].split(None, 1)[0])
    assert services.fetch_key(keys.hash_key(raw + "x"), key_type) is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        prepared = {name for (name,) in cursor.fetchall()}
    if prepare:
        assert statements[1:] == ["EXECUTE", "EXECUTE"]
        assert any(name.startswith("apikeys_lookup_") for name in prepared)
    else:
        assert set(statements) == {"SELECT"}


def test_pgbouncer_transaction_mode_runs_the_plain_statement(settings):
    from django_apikeys import _compiled_lookup

    class Connection:
        vendor = "postgresql"
        settings_dict = {"DISABLE_SERVER_SIDE_CURSORS": True, "OPTIONS": {}}

    assert _compiled_lookup.prepare_mode(Connection()) == _compiled_lookup.NOT_PREPARED
    Connection.settings_dict = {"OPTIONS": {"server_side_binding": True}}
    assert _compiled_lookup.prepare_mode(Connection()) == _compiled_lookup.PREPARED_BY_DRIVER


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_failed_prepare_never_breaks_the_connection(postgresql):
    """PREPARE outlives a failed statement: the next attempt prepares under a
    new name rather than failing on "already exists" for the connection's life."""
    from django.db import DatabaseError

    from django_apikeys import _compiled_lookup

    api_key, _org, _user, raw = key_in_organization("server", with_plan=False)
    connection.close()
    connection.ensure_connection()
    from django.db import connections

    compiled = _compiled_lookup.lookup_for(connections["default"], APIKey, services.key_queryset)
    name = compiled._prepared_statement[0]
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE {name}_0 AS SELECT 1")  # taken: the first attempt fails
    with pytest.raises(DatabaseError):
        services.fetch_key(keys.hash_key(raw))
    for _ in range(2):
        assert services.fetch_key(keys.hash_key(raw)).pk == api_key.pk
    assert _compiled_lookup._prepared[connection.connection][name] == f"{name}_1"
