"""The PostgreSQL hot path (issue 10): one query for every key type, the owner's
role from one join, and the lookup as a server-side prepared statement.

The prepared-statement tests run on PostgreSQL (``make test`` runs the suite
there too, under ``scripts/with-postgres.sh``); they reconnect the test
connection with the options ``docs/deployment.rst`` recommends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_apikeys import keys, services
from django_apikeys.models import Membership
from tests.factories import MembershipFactory, make_key, role
from tests.needs import missing

ME = "/api/v1/me"
PRODUCTS = "/api/v1/products"
#: What docs/deployment.rst tells deployers to put in DATABASES["default"]["OPTIONS"];
#: a threshold of 1 prepares on the second execution, so a test needs only a few requests.
PREPARED = {"server_side_binding": True, "prepare_threshold": 1}


def _keys_of_every_type() -> dict[str, tuple[Any, str]]:
    membership = MembershipFactory(role=role("Editor"))
    org = membership.organization
    return {
        "server": make_key(org, "server"),
        "publishable": make_key(org, "publishable"),
        "user": make_key(org, "user", user=membership.user, scopes=["products:read"]),
    }


def _lookup_sql(raw: str) -> str:
    with CaptureQueriesContext(connection) as queries:
        assert services.fetch_key(keys.hash_key(raw)) is not None
    assert len(queries.captured_queries) == 1
    sql = queries.captured_queries[0]["sql"]
    if sql.startswith(("PREPARE ", "EXECUTE ")):  # prepared by the app: the statement itself
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT statement FROM pg_prepared_statements WHERE name = %s", [sql.split()[1]]
            )
            (sql,) = cursor.fetchone()
        # PostgreSQL keeps the text sent: "PREPARE <name> AS <query>; EXECUTE <name> (...)".
        sql = sql.split(" AS ", 1)[1].rsplit("; EXECUTE ", 1)[0]
    return sql


@pytest.mark.django_db
def test_every_key_type_is_loaded_by_the_same_single_query():
    """One statement for every type: prepared once per connection, planned once."""
    statements = {
        _lookup_sql(raw).replace(keys.hash_key(raw), "?")
        for _, raw in _keys_of_every_type().values()
    }
    assert len(statements) == 1


@pytest.mark.django_db
def test_user_key_grants_come_from_one_join_not_subqueries():
    membership = MembershipFactory(role=role("Editor"))
    _, raw = make_key(membership.organization, "user", user=membership.user)
    sql = _lookup_sql(raw).upper()
    assert sql.count("SELECT") == 1  # no correlated subquery per grant
    assert "LEFT OUTER JOIN" in sql and "MEMBERSHIP" in sql


@pytest.mark.django_db
def test_role_changes_and_removal_are_seen_by_the_next_request(api_client):
    """The join reads the role live: no grant is cached in the key's row."""
    membership = MembershipFactory(role=role("Editor"))
    _, raw = make_key(
        membership.organization, "user", user=membership.user, scopes=["products:read"]
    )
    MembershipFactory(organization=membership.organization, role=role("Owner"))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert api_client.get(PRODUCTS, **auth).status_code == 200
    Membership.objects.filter(pk=membership.pk).update(role=role("Billing"))
    response = api_client.get(PRODUCTS, **auth)
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    Membership.objects.filter(pk=membership.pk).delete()
    response = api_client.get(ME, **auth)
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")


# --- server-side binding and prepared statements (PostgreSQL) ----------------


@pytest.fixture
def prepared_statements() -> Iterator[None]:
    """Reconnect the test connection with the recommended OPTIONS; restore after."""
    if connection.vendor != "postgresql":
        missing("server-side prepared statements are a PostgreSQL (psycopg 3) feature")
    saved = connection.settings_dict.get("OPTIONS", {})
    connection.close()
    connection.settings_dict["OPTIONS"] = {**saved, **PREPARED}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"] = saved


def _prepared_lookups() -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            ['%FROM "django_apikeys_apikey"%"hashed_key" = $1%'],
        )
        return [(sql, int(runs)) for sql, runs in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_lookup_is_one_prepared_statement_for_every_key_type(api_client, prepared_statements):
    for key_type, (_, raw) in _keys_of_every_type().items():
        for _ in range(3):
            response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
            assert response.status_code == 200, response.content
            assert response.json()["key_type"] == key_type
    lookups = _prepared_lookups()
    assert len(lookups) == 1, lookups  # one statement, prepared once on this connection
    assert lookups[0][1] >= 8  # 9 lookups, the first one before preparing


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_prepared_lookup_reads_revocation_and_roles_live(api_client, prepared_statements):
    """A prepared plan caches the plan, never the row: revoking a key or changing
    the owner's role is seen by the very next request on the same connection."""
    found = _keys_of_every_type()
    server, server_raw = found["server"]
    user_key, user_raw = found["user"]
    for _ in range(3):
        assert api_client.get(PRODUCTS, HTTP_AUTHORIZATION=f"Bearer {user_raw}").status_code == 200
        assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {server_raw}").status_code == 200
    assert _prepared_lookups()
    services.revoke_key(server)
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {server_raw}")
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")
    Membership.objects.filter(user=user_key.user).update(role=role("Billing"))
    response = api_client.get(PRODUCTS, HTTP_AUTHORIZATION=f"Bearer {user_raw}")
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_the_lookup_again(api_client, prepared_statements):
    """Prepared statements live and die with their connection (CONN_MAX_AGE,
    a restarted database): the next connection prepares its own."""
    _, raw = make_key()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    for _ in range(3):
        assert api_client.get(ME, **auth).status_code == 200
    assert _prepared_lookups()
    connection.close()
    assert _prepared_lookups() == []  # a fresh session has none
    for _ in range(3):
        assert api_client.get(ME, **auth).status_code == 200
    assert len(_prepared_lookups()) == 1
