"""schemathesis over the example project's whole schema (example API and
management API), in process through WSGI, with real keys of several types.

Each operation gets ``MAX_EXAMPLES`` generated requests (positive and
negative data), each sent with one credential drawn from: an Owner's server
key, an Owner's user key, a Manager's user key with the management scopes
only, a publishable key, an Editor's session, and none. Path parameters
are half the time replaced by the ids of real objects of the organization
(the organization, a key, a membership) so that requests get past the 403/404
and reach the views. Checked: no 5xx, every status code documented, bodies
and headers as the schema says, content types.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from example import settings as example_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from django_apikeys import services
from django_apikeys.api.permissions import MANAGEMENT_SCOPES
from django_apikeys.models import APIKey, Membership, Organization
from tests.factories import MembershipFactory, PlanFactory, UserFactory, make_key, role

# The fixtures are resolved inside the test (schemathesis' lazy schema), so
# pytest-django learns only from the mark that the database is needed.
pytestmark = pytest.mark.django_db

#: Generated requests per operation: enough to find what we fixed, small
#: enough for the whole run to take well under two minutes.
#: ``SCHEMATHESIS_MAX_EXAMPLES=200`` for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))

ORG_ID = uuid.UUID("0a0a0a0a-0000-4000-8000-000000000001")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

EXAMPLE_SETTINGS = {
    "APIKEYS": example_settings.APIKEYS,
    "EXAMPLE_API": example_settings.EXAMPLE_API,
    "SPECTACULAR_SETTINGS": example_settings.SPECTACULAR_SETTINGS,
}


@contextmanager
def connections_kept_open() -> Iterator[None]:
    """What Django's test client does: requests through the WSGI handler must
    not close the test's database connection when they finish (on PostgreSQL
    that ends the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def api_schema(django_db_setup: Any, django_db_blocker: Any) -> Any:
    with (
        django_db_blocker.unblock(),
        override_settings(**EXAMPLE_SETTINGS),
        connections_kept_open(),
    ):
        from django_apikeys.conf import apikeys_settings

        apikeys_settings.reload()
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
        # Generated data here; the schema's own examples in test_schema_examples
        # (schemathesis does not mix them with ``@schema.given``).
        schema.config.phases.update(phases=["coverage", "fuzzing"])
        yield schema
    apikeys_settings.reload()


@pytest.fixture(scope="module")
def api_schema_examples(django_db_setup: Any, django_db_blocker: Any) -> Any:
    with (
        django_db_blocker.unblock(),
        override_settings(**EXAMPLE_SETTINGS),
        connections_kept_open(),
    ):
        from django_apikeys.conf import apikeys_settings

        apikeys_settings.reload()
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
        schema.config.phases.update(phases=["examples"])
        yield schema
    apikeys_settings.reload()


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """An organization with members of each role and keys of each type."""
    with override_settings(**EXAMPLE_SETTINGS), connections_kept_open():
        from django_apikeys.conf import apikeys_settings

        apikeys_settings.reload()
        organization = Organization.objects.create(
            id=ORG_ID,
            name="Schemathesis",
            slug="schemathesis",
            plan=PlanFactory(entitlements=["*"]),
        )
        owner = MembershipFactory(organization=organization, role=role("Owner")).user
        manager_membership = MembershipFactory(organization=organization, role=role("Manager"))
        editor_membership = MembershipFactory(organization=organization, role=role("Editor"))
        manager, editor = manager_membership.user, editor_membership.user
        for name in ("Billing", "Editor"):  # members the generated requests may change
            MembershipFactory(organization=organization, role=role(name))
        UserFactory(username="newcomer")
        UserFactory(username="dana", email="dana@example.com")  # the schema's example
        server, server_raw = make_key(
            organization, "server", created_by=owner, scopes=["*"], name="server"
        )
        user, user_raw = make_key(
            organization, "user", user=owner, created_by=owner, scopes=["*"], name="user"
        )
        mgmt, mgmt_raw = make_key(
            organization, "user", user=manager, created_by=manager, scopes=MANAGEMENT_SCOPES
        )
        pub, pub_raw = make_key(
            organization, "publishable", created_by=owner, scopes=["assess", "products:read"]
        )
        for n in range(3):
            make_key(
                organization, "server", created_by=owner, scopes=["clients:read"], name=f"k{n}"
            )
        services.revoke_key(make_key(organization, "server", name="revoked")[0])
        from django.test import Client

        session = Client()
        session.force_login(editor)
        cookie = session.cookies["sessionid"].value
        yield {
            # Revoking or rolling the credentials, or removing their owners,
            # would turn every later request into a 401: real ids are others'.
            "protected_keys": {str(k.pk) for k in (server, user, mgmt, pub)},
            "protected_members": {manager_membership.pk, editor_membership.pk},
            "owner_key": {"Authorization": f"Bearer {user_raw}"},
            "credentials": [
                {"Authorization": f"Bearer {server_raw}"},
                {"Authorization": f"Bearer {user_raw}"},
                {"X-API-Key": mgmt_raw},
                {"Authorization": f"Bearer {pub_raw}"},
                {"Cookie": f"sessionid={cookie}"},
                {},
            ],
        }


def _real_ids(world: dict[str, Any]) -> dict[str, list[Any]]:
    keys = APIKey.objects.filter(organization_id=ORG_ID).values_list("pk", flat=True)
    members = Membership.objects.filter(organization_id=ORG_ID).values_list("pk", flat=True)
    return {
        "org_id": [str(ORG_ID), "schemathesis"],
        "key_id": [str(pk) for pk in keys if str(pk) not in world["protected_keys"]],
        "membership_id": [str(pk) for pk in members if pk not in world["protected_members"]],
    }


@pytest.fixture(autouse=True)
def _node_id_for_subtests(request: Any) -> None:
    """schemathesis 4 renames ``node._nodeid`` per operation for its reports;
    pytest 9 no longer has that attribute, so give it one."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


#: (operation, status) -> responses, printed at the end of the module (``-s``).
STATS: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report() -> Any:
    yield
    if STATS:
        operations = {label for label, _status in STATS}
        print(f"\nschemathesis: {len(operations)} operations, {sum(STATS.values())} requests")
        for (label, status), count in sorted(STATS.items()):
            print(f"  {status} {label}: {count}")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_schema(case: Any, data: Any, world: dict[str, Any]) -> None:
    with override_settings(**EXAMPLE_SETTINGS):
        if case.path_parameters and data.draw(st.booleans(), label="real ids"):
            for name, values in _real_ids(world).items():
                if name in case.path_parameters and values:
                    case.path_parameters[name] = data.draw(st.sampled_from(values), label=name)
        # A generated Host header (``HOST: [,``) never reaches the view: Django
        # answers DisallowedHost with its own HTML 400, as a front server would
        # refuse it before Django. Not the API's behaviour: not sent.
        case.headers = {
            name: value for name, value in (case.headers or {}).items() if name.lower() != "host"
        }
        credential = data.draw(st.sampled_from(world["credentials"]), label="credential")
        if credential:
            # The credential replaces whatever the generator put in those headers;
            # without one, generated (garbage) credentials are sent as they are.
            generated = {
                name: value
                for name, value in (case.headers or {}).items()
                if name.lower() not in ("authorization", "x-api-key", "cookie")
            }
            case.headers = {**generated, **credential}
        response = case.call_and_validate(checks=CHECKS)
        STATS[(case.operation.label, response.status_code)] += 1


#: The operations whose request bodies the schema gives examples of.
WITH_EXAMPLES = ["keys_create", "keys_update", "keys_roll", "members_create", "members_update"]
examples = schemathesis.pytest.from_fixture("api_schema_examples").include(
    operation_id=WITH_EXAMPLES
)


@examples.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_schema_examples(case: Any, world: dict[str, Any]) -> None:
    """The request examples the schema documents work, as an Owner's key, on
    real objects: what a client copying them from Swagger UI gets."""
    with override_settings(**EXAMPLE_SETTINGS):
        ids = _real_ids(world)
        for name, values in ids.items():
            if name in (case.path_parameters or {}) and values:
                case.path_parameters[name] = values[-1]  # the newest: not the Owner's
        case.headers = {**(case.headers or {}), **world["owner_key"]}
        response = case.call_and_validate(checks=CHECKS)
        STATS[(case.operation.label + " (example)", response.status_code)] += 1
        assert response.status_code < 300, response.text
