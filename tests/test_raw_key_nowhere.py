"""The raw key lives in one HTTP response (or one stdout line) and nowhere else.

Keys are created by every path (service, manager, admin, command, roll) and
used on the API; then every table of the database and every captured log
record is searched for each raw key.
"""

from __future__ import annotations

import io
import logging
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from django_apikeys import services
from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

KEY_RE = re.compile(r"(?:sk|uk|pk)_[A-Za-z0-9]{32}_[0-9a-f]{8}")


def dump_database() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_raw_keys_are_stored_nowhere(client, api_client, caplog):
    caplog.set_level(logging.DEBUG)
    membership = MembershipFactory()
    org = membership.organization
    raws = []
    # 1. the service and the manager
    raws.append(
        services.create_key(organization=org, key_type="server", name="svc", scopes=["*"])[1]
    )
    raws.append(APIKey.objects.create_key(organization=org, key_type="publishable", name="m")[1])
    raws.append(
        services.create_key(
            organization=org, key_type="user", name="u", user=membership.user, scopes=["*"]
        )[1]
    )
    # 2. rolling
    old = APIKey.objects.get(name="svc")
    raws.append(services.roll_key(old, actor=membership.user)[1])
    # 3. the management command
    out = io.StringIO()
    call_command(
        "createapikey", org.slug, "server", "cmd", "--scope", "*", stdout=out, stderr=io.StringIO()
    )
    raws.append(out.getvalue().strip())
    # 4. the admin
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        reverse("admin:django_apikeys_apikey_add"),
        {
            "organization": str(org.pk),
            "key_type": "server",
            "name": "admin",
            "scopes": "*",
            "rate_limit_per_minute": "0",
            "rate_limit_per_day": "0",
            "allowed_origins": "[]",
        },
    )
    raws.append(KEY_RE.search(response.content.decode()).group(0))
    assert all(raw and KEY_RE.fullmatch(raw) for raw in raws)
    assert APIKey.objects.count() == 6
    # use every key, successfully and not (a key the client puts in a URL is
    # the client's leak: refused with key_in_query, tested elsewhere)
    for raw in raws:
        assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
        api_client.get("/api/v1/me", HTTP_AUTHORIZATION=raw)  # missing Bearer prefix
    services.revoke_key(APIKey.objects.get(name="m"))
    api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raws[1]}")

    database = dump_database()
    logs = "\n".join(
        f"{r.getMessage()} {r.args!r} {getattr(r, 'request', '')!r}" for r in caplog.records
    )
    assert len(database) > 1000  # the dump did read the tables
    for raw in raws:
        assert raw not in database
        assert raw not in logs
        body = raw.split("_")[1]
        assert body not in database
    assert not KEY_RE.search(database)
