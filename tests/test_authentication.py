"""APIKeyAuthentication: credential extraction, every 401 code, query counts, last_used."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.permissions import IsAuthenticated
from rest_framework.test import APIRequestFactory

from django_apikeys import keys, services, signals
from django_apikeys.authentication import APIKeyAuthentication, APIKeyPrincipal
from django_apikeys.exceptions import InvalidKey
from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, make_key, role

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


@pytest.fixture
def core_only(monkeypatch):
    """The key pipeline alone, as a site without ``django_apikeys.oauth`` has it
    (the test settings also install the OAuth token class, which claims JWTs)."""
    from example.api.views import WhoAmI
    from rest_framework.authentication import SessionAuthentication

    monkeypatch.setattr(
        WhoAmI, "authentication_classes", [APIKeyAuthentication, SessionAuthentication]
    )


def _error(response):
    body = response.json()
    return response.status_code, body["code"], body["type"]


# --- the error-code table, row by row ---------------------------------------


def test_no_credential_is_401_not_authenticated(api_client):
    response = api_client.get(ME)
    assert _error(response) == (401, "not_authenticated", "AuthenticationError")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bare_key_in_authorization_is_missing_bearer_prefix(api_client):
    _, raw = make_key()
    response = api_client.get(ME, HTTP_AUTHORIZATION=raw)
    assert _error(response) == (401, "missing_bearer_prefix", "AuthenticationError")
    assert "Bearer" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "credential",
    [
        "sk_notakey",
        "sk_" + "A" * 32 + "_00000000",  # bad checksum
        "sk_" + "A" * 32 + "_" + keys.checksum("A" * 32),  # well formed, unknown key
    ],
)
def test_invalid_keys_are_401_invalid_key(api_client, credential, core_only):
    """A value with one of our prefixes is clearly meant as our key: refused."""
    for headers in (
        {"HTTP_AUTHORIZATION": f"Bearer {credential}"},
        {"HTTP_X_API_KEY": credential},
    ):
        response = api_client.get(ME, **headers)
        assert _error(response) == (401, "invalid_key", "AuthenticationError")
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


FOREIGN = [
    "zz_" + "A" * 32 + "_" + keys.checksum("A" * 32),  # unknown prefix
    "eyJhbGciOiJIUzI1NiJ9.e30.sig",  # someone else's token
]


@pytest.mark.parametrize("credential", FOREIGN)
def test_foreign_bearer_values_are_not_ours_by_default(api_client, credential, core_only):
    """Without our prefix a Bearer value is another class's (a JWT, an OAuth
    token): ``None``, so the 401 says no credential was accepted. In our own
    header it can only be meant as a key."""
    request = APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {credential}")
    assert APIKeyAuthentication().authenticate(_drf(request)) is None
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {credential}")
    assert _error(response) == (401, "not_authenticated", "AuthenticationError")
    response = api_client.get(ME, HTTP_X_API_KEY=credential)
    assert _error(response) == (401, "invalid_key", "AuthenticationError")


@pytest.mark.parametrize("credential", FOREIGN)
def test_claim_all_bearer_tokens_refuses_foreign_values(
    api_client, settings, credential, core_only
):
    settings.APIKEYS = {"CLAIM_ALL_BEARER_TOKENS": True}
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {credential}")
    assert _error(response) == (401, "invalid_key", "AuthenticationError")


@pytest.mark.parametrize("header", ["Bearer", "Bearer  ", "Bearer a b", "bearer"])
def test_bearer_without_single_key_is_invalid(api_client, header):
    response = api_client.get(ME, HTTP_AUTHORIZATION=header)
    assert _error(response) == (401, "invalid_key", "AuthenticationError")


def test_empty_x_api_key_is_invalid(api_client):
    response = api_client.get(ME, HTTP_X_API_KEY="  ")
    assert _error(response) == (401, "invalid_key", "AuthenticationError")


def test_revoked_key_is_401_key_revoked(api_client):
    api_key, raw = make_key()
    services.revoke_key(api_key)
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert _error(response) == (401, "key_revoked", "AuthenticationError")


def test_inactive_key_is_401_key_revoked(api_client):
    api_key, raw = make_key()
    APIKey.objects.filter(pk=api_key.pk).update(is_active=False)
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert _error(response) == (401, "key_revoked", "AuthenticationError")


def test_expired_key_is_401_key_expired(api_client):
    api_key, raw = make_key(expires_at=timezone.now() + datetime.timedelta(hours=1))
    APIKey.objects.filter(pk=api_key.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert _error(response) == (401, "key_expired", "AuthenticationError")


def test_key_in_query_is_refused_by_default(api_client):
    _, raw = make_key()
    response = api_client.get(ME, {"api_key": raw})
    assert _error(response) == (401, "key_in_query", "AuthenticationError")
    # A header credential is read first and wins.
    response = api_client.get(ME, {"api_key": raw}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


def test_key_in_query_when_enabled(api_client, settings):
    settings.APIKEYS = {"ALLOW_KEY_IN_QUERY": True}
    api_key, raw = make_key()
    response = api_client.get(ME, {"api_key": raw})
    assert response.status_code == 200
    assert response.json()["key_hint"] == api_key.hint


def test_query_param_detection_can_be_turned_off(api_client, settings):
    settings.APIKEYS = {"QUERY_PARAM": None}
    _, raw = make_key()
    assert _error(api_client.get(ME, {"api_key": raw}))[1] == "not_authenticated"


def test_header_and_a_different_query_key_are_ambiguous(api_client, settings):
    """Two different keys (header and query) are refused, not resolved by preference
    (issue 14); the same key in both is one credential."""
    settings.APIKEYS = {"ALLOW_KEY_IN_QUERY": True}
    api_key, raw = make_key()
    other_key, other_raw = make_key(api_key.organization, name="other")
    response = api_client.get(ME, {"api_key": other_raw}, HTTP_X_API_KEY=raw)
    assert _error(response)[1] == "ambiguous_credentials"
    response = api_client.get(ME, {"api_key": raw}, HTTP_X_API_KEY=raw)
    assert response.json()["key_hint"] == api_key.hint


def test_foreign_authorization_scheme_is_not_ours(api_client):
    """The key class passes (``None``); with no class accepting Basic here,
    the 401 says to use Bearer (issue 13; tests/test_wrong_auth_scheme.py)."""
    request = APIRequestFactory().get(ME, HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert APIKeyAuthentication().authenticate(request) is None
    response = api_client.get(ME, HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert _error(response)[1] == "wrong_auth_scheme"


def test_foreign_bearer_token_passes_when_not_claimed(api_client, settings, core_only):
    response = api_client.get(ME, HTTP_AUTHORIZATION="Bearer eyJhbGciOi.e30.sig")
    assert _error(response)[1] == "not_authenticated"
    _, raw = make_key()
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_user_key_of_removed_member_is_refused_on_next_request(api_client):
    owner = MembershipFactory()
    member = MembershipFactory(organization=owner.organization, role=role("Editor"))
    _, raw = make_key(member.organization, "user", user=member.user)
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    services.remove_member(member)
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert _error(response) == (401, "key_revoked", "AuthenticationError")


def test_custom_headers_and_schemes(api_client, settings):
    settings.APIKEYS = {"KEY_HEADERS": ["X-Custom-Key"], "AUTHORIZATION_SCHEMES": ["Token"]}
    api_key, raw = make_key()
    assert api_client.get(ME, HTTP_X_CUSTOM_KEY=raw).status_code == 200
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Token {raw}").status_code == 200
    assert _error(api_client.get(ME, HTTP_X_API_KEY=raw))[1] == "not_authenticated"
    # A key under a scheme that is not configured: "use Token" (issue 13).
    assert _error(api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}"))[1] == "wrong_auth_scheme"


def test_authorization_header_can_be_disabled(api_client, settings):
    settings.APIKEYS = {"AUTHORIZATION_SCHEMES": []}
    _, raw = make_key()
    assert _error(api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}"))[1] == "not_authenticated"
    assert api_client.get(ME, HTTP_X_API_KEY=raw).status_code == 200


# --- what the request carries after authentication ---------------------------


def test_organization_key_principal(api_client):
    api_key, raw = make_key()
    request = APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    user, auth = APIKeyAuthentication().authenticate(_drf(request))
    assert auth == api_key
    assert isinstance(user, APIKeyPrincipal)
    assert not isinstance(user, User)
    assert user.is_authenticated and not user.is_anonymous
    assert user.pk is None and not user.has_perm("anything")
    assert user.organization == api_key.organization
    assert IsAuthenticated().has_permission(_drf_with(request, user, auth), None)
    assert request.organization == api_key.organization
    with pytest.raises(TypeError):
        user.save()


def test_user_key_sets_the_user(api_client):
    membership = MembershipFactory()
    api_key, raw = make_key(membership.organization, "user", user=membership.user)
    response = api_client.get(ME, HTTP_X_API_KEY=raw)
    assert response.json() == {
        "user": membership.user.username,
        "key_type": "user",
        "key_hint": api_key.hint,
        "scopes": ["*"],
        "organization": str(membership.organization.pk),
    }


def _drf(request):
    from rest_framework.request import Request

    return Request(request)


def _drf_with(request, user, auth):
    drf = _drf(request)
    drf.user, drf.auth = user, auth
    return drf


# --- cost: queries and writes ------------------------------------------------


@pytest.mark.parametrize(
    "credential",
    [
        "sk_short",
        "sk_" + "A" * 32 + "_00000000",
        "pk_" + "A" * 32 + "_" + keys.checksum("A" * 32) + "x",
        "sk_" + "x" * 5000,
    ],
)
def test_malformed_keys_cost_zero_queries(credential):
    request = APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {credential}")
    with CaptureQueriesContext(connection) as ctx, pytest.raises(Exception) as exc:
        APIKeyAuthentication().authenticate(_drf(request))
    assert exc.value.default_code == "invalid_key"
    assert len(ctx.captured_queries) == 0


@pytest.mark.parametrize("key_type", ["server", "user", "publishable"])
def test_valid_key_costs_one_query(key_type):
    membership = MembershipFactory()
    user = membership.user if key_type == "user" else None
    api_key, raw = make_key(membership.organization, key_type, user=user)
    APIKey.objects.filter(pk=api_key.pk).update(last_used=timezone.now())
    request = APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    with CaptureQueriesContext(connection) as ctx:
        principal, auth = APIKeyAuthentication().authenticate(_drf(request))
        # organization, plan and user come with the one query
        touched = [auth.organization.name, auth.organization.plan]
        if user:
            touched.append(principal.username)
    assert touched[0] == membership.organization.name
    assert len(ctx.captured_queries) == 1, [q["sql"] for q in ctx.captured_queries]


def test_unknown_well_formed_key_costs_one_query():
    raw = keys.generate("sk")
    request = APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    with CaptureQueriesContext(connection) as ctx, pytest.raises(InvalidKey):
        APIKeyAuthentication().authenticate(_drf(request))
    assert len(ctx.captured_queries) == 1


def test_last_used_written_once_per_interval(api_client):
    api_key, raw = make_key()
    assert api_key.last_used is None
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(5):
            assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    updates = [q for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert "last_used" in updates[0]["sql"]
    api_key.refresh_from_db()
    first = api_key.last_used
    assert first is not None
    # After the interval, one more write.
    APIKey.objects.filter(pk=api_key.pk).update(last_used=first - datetime.timedelta(seconds=61))
    from django.core.cache import cache

    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
        api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert sum(q["sql"].startswith("UPDATE") for q in ctx.captured_queries) == 1


def test_last_used_interval_is_configurable(api_client, settings):
    settings.APIKEYS = {"LAST_USED_INTERVAL": 3600}
    api_key, raw = make_key()
    APIKey.objects.filter(pk=api_key.pk).update(
        last_used=timezone.now() - datetime.timedelta(minutes=30)
    )
    with CaptureQueriesContext(connection) as ctx:
        api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert not any(q["sql"].startswith("UPDATE") for q in ctx.captured_queries)


# --- signals -----------------------------------------------------------------


def test_authentication_failure_signal_never_carries_the_key(api_client):
    api_key, raw = make_key()
    services.revoke_key(api_key)
    received = []

    def handler(sender, **kwargs):
        received.append(kwargs)

    signals.api_key_authentication_failed.connect(handler)
    try:
        api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
        api_client.get(ME, HTTP_AUTHORIZATION="Bearer sk_garbage")
        api_client.get(ME, HTTP_AUTHORIZATION=f"Token {raw}")
    finally:
        signals.api_key_authentication_failed.disconnect(handler)
    assert [r["code"] for r in received] == ["key_revoked", "invalid_key", "wrong_auth_scheme"]
    assert received[0]["hint"] == api_key.hint
    assert received[1]["hint"] == received[2]["hint"] == ""
    assert raw not in repr(received)


# --- fuzz: the header parser never 500s ----------------------------------------

header_values = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="latin-1"), max_size=5000),
    st.builds(lambda s: "Bearer " + s, st.text(max_size=100)),
    st.builds(lambda n, s: "Bearer " * n + s, st.integers(1, 50), st.text(max_size=40)),
    st.builds(lambda s: "sk_" + s, st.text(alphabet=keys.ALPHABET + "_-\x00", max_size=60)),
    st.just("\x00" * 100),
    st.just("Bearer " + "A" * 100_000),
)


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(authorization=header_values, x_api_key=st.one_of(st.none(), header_values))
def test_fuzzed_headers_never_500(api_client, authorization, x_api_key):
    headers = {"HTTP_AUTHORIZATION": authorization}
    if x_api_key is not None:
        headers["HTTP_X_API_KEY"] = x_api_key
    response = api_client.get(ME, **headers)
    assert response.status_code in (200, 401), response.content
    if response.status_code == 401:
        assert response.json()["code"] in {
            "not_authenticated",
            "missing_bearer_prefix",
            "wrong_auth_scheme",
            "invalid_key",
            "ambiguous_credentials",
            "invalid_token",  # a Bearer value that is no key: the OAuth class's
        }
