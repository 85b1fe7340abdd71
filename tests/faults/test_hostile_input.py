"""Hostile input (issue 14, item 4): validated where stored, refused where malformed."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.contrib import admin
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from django_apikeys import services
from django_apikeys.admin import OriginsField
from django_apikeys.dashboard.mixins import FORM_TOKENS_SESSION_KEY
from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, OrganizationFactory, make_key, role

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


# --- origins: the admin stores only what the origin rule accepts ---------------


def _admin_add_publishable(admin_client, allowed_origins: str):
    """POST the admin's add form for a publishable key with ``allowed_origins`` as typed."""
    return admin_client.post(
        reverse("admin:django_apikeys_apikey_add"),
        {
            "organization": str(OrganizationFactory().pk),
            "key_type": "publishable",
            "name": "Shop",
            "rate_limit_per_minute": "0",
            "rate_limit_per_day": "0",
            "allowed_origins": allowed_origins,
        },
    )


@pytest.mark.parametrize(
    "typed",
    ['"https://shop.example"', '["*"]', "null", '["null"]', "*", "https://shop.example/path"],
)
def test_admin_refuses_what_is_not_a_list_of_origins(admin_client, typed):
    response = _admin_add_publishable(admin_client, typed)
    assert response.status_code == 200
    assert "allowed_origins" in response.context["adminform"].form.errors
    assert not APIKey.objects.exists()


@pytest.mark.parametrize(
    "typed",
    [
        "HTTPS://Shop.Example:443\nhttp://localhost:8000",
        '["HTTPS://SHOP.EXAMPLE/", "http://localhost:8000"]',
    ],
)
def test_admin_normalises_origins_like_the_services(admin_client, typed):
    response = _admin_add_publishable(admin_client, typed)
    assert response.status_code == 200, response.content[:500]
    assert APIKey.objects.get().allowed_origins == [
        "http://localhost:8000",
        "https://shop.example",
    ]


def test_admin_change_form_uses_the_origin_rule(admin_client):
    api_key, _raw = make_key(key_type="publishable")
    request = RequestFactory().get("/")
    request.user = admin_client.user if hasattr(admin_client, "user") else None
    form_class = admin.site._registry[APIKey].get_form(request, api_key)
    field = form_class.base_fields["allowed_origins"]
    assert isinstance(field, OriginsField)
    with pytest.raises(ValidationError):
        field.clean('"https://shop.example"')
    assert field.clean("https://A.example") == ["https://a.example"]


@pytest.mark.parametrize(
    "stored",
    [
        "https://shop.example",
        "",
        {"a": 1},
        ["*"],
        ["HTTPS://SHOP.EXAMPLE"],
        ["https://shop.example", 5],
        ["https://shop.example", "https://shop.example"],
    ],
)
def test_a_malformed_stored_value_fails_closed(api_client, stored):
    api_key, raw = make_key(key_type="publishable")
    APIKey.objects.filter(pk=api_key.pk).update(allowed_origins=stored)
    for origin in (None, "https://shop.example"):
        extra = {"HTTP_ORIGIN": origin} if origin else {}
        response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}", **extra)
        assert response.status_code == 403
        assert response.json()["code"] == "origin_not_allowed"


# --- bounded inputs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "x" * 101}, "name"),
        ({"name": 42}, "name"),
        ({"rate_limit_per_minute": 2**31}, "rate_limit_per_minute"),
        ({"rate_limit_per_day": 10**30}, "rate_limit_per_day"),
        ({"rate_limit_per_minute": True}, "rate_limit_per_minute"),
        ({"rate_limit_per_day": "5"}, "rate_limit_per_day"),
        ({"remaining_uses": 2**40}, "remaining_uses"),
        ({"remaining_uses": -1}, "remaining_uses"),
        (
            {"expires_at": datetime.datetime(9999, 6, 1, tzinfo=datetime.timezone.utc)},
            "expires_at",
        ),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"allowed_origins": [f"https://{n}.example" for n in range(21)]}, "allowed_origins"),
    ],
)
def test_create_key_bounds_its_inputs(overrides, field):
    org = OrganizationFactory()
    kwargs = {
        "organization": org,
        "key_type": "server",
        "name": "ok",
        "scopes": ["*"],
        **overrides,
    }
    with pytest.raises(ValidationError) as refused:
        services.create_key(**kwargs)
    assert field in refused.value.message_dict
    assert not APIKey.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--rate-limit-per-minute", str(2**31)],
        ["--rate-limit-per-day", str(10**20)],
        ["--expires-in-days", str(10**9)],
        ["--expires-in-days", "2920000"],
    ],
)
def test_createapikey_answers_command_errors(args):
    org = OrganizationFactory()
    with pytest.raises(CommandError):
        call_command(
            "createapikey",
            org.slug,
            "server",
            "cli",
            *args,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    with pytest.raises(CommandError):
        call_command("createapikey", org.slug, "server", "x" * 500, stdout=io.StringIO())
    assert not APIKey.objects.exists()


def test_flushusage_bounds_its_days():
    with pytest.raises(CommandError):
        call_command("flushusage", "--days", str(10**9), stdout=io.StringIO())


def test_rolling_a_key_that_expires_at_the_end_of_the_calendar():
    last = datetime.datetime(9999, 1, 1, tzinfo=datetime.timezone.utc)
    api_key, _raw = make_key(expires_at=last)
    APIKey.objects.filter(pk=api_key.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3650)
    )
    api_key.refresh_from_db()
    new, _new_raw = services.roll_key(api_key)
    assert new.expires_at is not None and new.expires_at.year == 9998


# --- deep JSON --------------------------------------------------------------------


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deeply_nested_json_is_a_400(api_client, depth):
    _api_key, raw = make_key(scopes=["clients:write"])
    response = api_client.post(
        "/api/v1/clients",
        data="[" * depth + "]" * depth,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parse_error" and body["type"] == "InvalidRequestError"


def test_a_recursion_error_in_view_code_stays_a_server_error(settings):
    from django_apikeys.exceptions import exception_handler

    def recurse(n):
        return recurse(n + 1)

    try:
        recurse(0)
    except RecursionError as exc:
        assert exception_handler(exc, {}) is None  # not ours to turn into a 400


# --- the one-time form token is consumed atomically ------------------------------


def test_two_posts_racing_with_one_form_token_create_one_key():
    owner = MembershipFactory(role=role("Owner"))
    client = Client()
    client.force_login(owner.user)
    url = reverse("django_apikeys:key_create", args=[owner.organization.pk])
    token = client.get(url + "?type=server").context["form"]["form_token"].value()
    session_key = client.cookies["sessionid"].value
    # The second request read the session (token still there) before the first saved it.
    seen_by_second = dict(SessionStore(session_key=session_key).load())
    data = {
        "key_type": "server",
        "form_token": token,
        "name": "Race",
        "scopes": ["*"],
        "expiry": "30",
    }
    first = client.post(url + "?type=server", data)
    store = SessionStore(session_key=session_key)
    store.update(seen_by_second)
    store.save()
    assert token in SessionStore(session_key=session_key).load()[FORM_TOKENS_SESSION_KEY]
    second = client.post(url + "?type=server", data)
    print(f"\n[faults] one form token, two POSTs: {first.status_code}, {second.status_code}")
    assert first.status_code == 200 and "raw_key" in first.context
    assert second.status_code == 409
    assert APIKey.objects.filter(name="Race").count() == 1
    assert json.dumps(second.context.get("raw_key")) == "null"


# --- text that cannot reach the database: refused before any query (PostgreSQL) ---------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "method,path,body",
    [
        ("post", "members/", {"email": "someone@example.com", "role": "Edi\x00tor"}),
        ("post", "members/", {"email": "someone@example.com", "role": "R" * 500}),
        ("post", "members/", {"email": "some\x00one@example.com", "role": "Editor"}),
        ("patch", "members/{member}/", {"role": "Edi\x00tor"}),
        ("post", "keys/", {"name": "ci\x00", "key_type": "server", "scopes": ["clients:read"]}),
        ("post", "keys/", {"name": "ci", "key_type": "server", "scopes": ["clients:\x00read"]}),
        ("patch", "keys/{key}/", {"name": "x\x00"}),
        ("get", "keys/?search=a%00b", None),
        ("get", "audit/?action=key.created%00", None),
    ],
)
def test_management_api_refuses_unstorable_text_with_400(method, path, body):
    from tests.test_management_api import _org, client_for

    org = _org()
    client = client_for(org, "Owner", "session")
    path = path.format(member=org.members["Editor"].pk, key=org.target_key.pk)
    response = getattr(client, method)(org.url + path, body, format="json")
    assert response.status_code == 400, response.content


@pytest.mark.postgres
@pytest.mark.parametrize("org_ref", ["acme%00", "a" * 300])
def test_an_unstorable_organization_in_the_url_is_not_a_500(org_ref):
    from tests.test_management_api import _org, client_for

    org = _org()
    client = client_for(org, "Owner", "session")
    response = client.get(f"/api/manage/organizations/{org_ref}/keys/")
    assert response.status_code in (403, 404), response.content
