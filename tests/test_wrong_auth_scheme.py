"""401 ``wrong_auth_scheme``: a credential under another ``Authorization`` scheme.

The rule (``docs/errors.rst``, :func:`django_apikeys.exceptions.wrong_scheme_refusal`):
a value carrying one of our keys under another scheme is refused at once; any
other value is left to the site's other authentication classes and only
refused when none of them authenticated the request and none owns the scheme.
"""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth.models import User
from rest_framework.authentication import (
    BasicAuthentication,
    SessionAuthentication,
    TokenAuthentication,
)
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from django_apikeys.authentication import APIKeyAuthentication
from tests.factories import make_key

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _error(response):
    body = response.json()
    return response.status_code, body["code"], body["type"]


def assert_use_bearer(response, scheme: str = "Bearer") -> None:
    assert _error(response) == (401, "wrong_auth_scheme", "AuthenticationError")
    assert f"Authorization: {scheme} <key>" in response.json()["detail"]
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# --- the example API (OAuth, key and session classes, as the site has them) ----


@pytest.mark.parametrize(
    "header",
    [
        "Token {raw}",
        "token {raw}",
        "ApiKey {raw}",
        "Key {raw}",
        "Bearer-Token {raw}",
    ],
)
def test_key_under_another_scheme_says_use_bearer(api_client, header):
    _, raw = make_key()
    response = api_client.get(ME, HTTP_AUTHORIZATION=header.format(raw=raw))
    assert_use_bearer(response)
    assert raw not in response.content.decode()


@pytest.mark.parametrize(
    "user, password",
    [("{raw}", ""), ("{raw}", "x"), ("api", "{raw}"), (" {raw} ", "")],
    ids=["stripe-style user", "user with password", "as password", "padded"],
)
def test_key_inside_basic_says_use_bearer(api_client, user, password):
    _, raw = make_key()
    header = basic(user.format(raw=raw), password.format(raw=raw))
    assert_use_bearer(api_client.get(ME, HTTP_AUTHORIZATION=header))


@pytest.mark.parametrize(
    "header",
    [
        # A DRF token, with no TokenAuthentication on this view.
        "Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
        basic("alice", "secret"),
        "Basic not-base64!",
        "Digest username=alice, realm=api",
        "Signature keyId=a,signature=b",
    ],
)
def test_other_credentials_nobody_accepts_say_use_bearer(api_client, header):
    assert_use_bearer(api_client.get(ME, HTTP_AUTHORIZATION=header))


@pytest.mark.parametrize("header", ["", "Token", "garbage", "   "])
def test_no_value_stays_not_authenticated(api_client, header):
    response = api_client.get(ME, HTTP_AUTHORIZATION=header)
    assert _error(response) == (401, "not_authenticated", "AuthenticationError")


def test_bearer_cases_are_unchanged(api_client):
    api_key, raw = make_key()
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert _error(api_client.get(ME, HTTP_AUTHORIZATION=raw))[1] == "missing_bearer_prefix"
    response = api_client.get(ME, HTTP_AUTHORIZATION="Bearer sk_nope")
    assert _error(response)[1] == "invalid_key"


def test_x_api_key_with_an_unrelated_authorization_header_still_works(api_client):
    """A non-key value under another scheme is not ours: the key header decides."""
    api_key, raw = make_key()
    response = api_client.get(ME, HTTP_AUTHORIZATION=basic("proxy", "pw"), HTTP_X_API_KEY=raw)
    assert response.status_code == 200
    assert response.json()["key_hint"] == api_key.hint


def test_message_names_the_configured_scheme(api_client, settings):
    settings.APIKEYS = {"AUTHORIZATION_SCHEMES": ["Token"]}
    api_key, raw = make_key()
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Token {raw}").status_code == 200
    assert_use_bearer(api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}"), scheme="Token")


def test_no_authorization_schemes_configured_leaves_the_header_alone(api_client, settings):
    settings.APIKEYS = {"AUTHORIZATION_SCHEMES": []}
    _, raw = make_key()
    for header in (f"Token {raw}", basic("alice", "pw")):
        response = api_client.get(ME, HTTP_AUTHORIZATION=header)
        assert _error(response)[1] == "not_authenticated"


# --- coexistence with DRF's own authentication classes --------------------------


class Whoami(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"user": request.user.get_username(), "auth": type(request.auth).__name__})


class Anyone(Whoami):
    permission_classes = [AllowAny]


factory = APIRequestFactory()


def call(view_class, authenticators, header, **extra):
    view = view_class.as_view(authentication_classes=authenticators)
    response = view(factory.get("/whoami", HTTP_AUTHORIZATION=header, **extra))
    response.render()
    return response


@pytest.fixture
def alice(db):
    return User.objects.create_user("alice", password="secret")


@pytest.fixture
def drf_token(alice):
    return Token.objects.create(user=alice).key


KEY_FIRST = [APIKeyAuthentication, TokenAuthentication, SessionAuthentication]
TOKEN_FIRST = [TokenAuthentication, APIKeyAuthentication, SessionAuthentication]


@pytest.mark.parametrize("classes", [KEY_FIRST, TOKEN_FIRST], ids=["key first", "token first"])
def test_drf_tokens_keep_working(classes, drf_token):
    response = call(Whoami, classes, f"Token {drf_token}")
    assert response.status_code == 200
    assert response.data == {"user": "alice", "auth": "Token"}


@pytest.mark.parametrize("classes", [KEY_FIRST, TOKEN_FIRST], ids=["key first", "token first"])
def test_api_keys_keep_working_next_to_drf_tokens(classes):
    api_key, raw = make_key()
    response = call(Whoami, classes, f"Bearer {raw}")
    assert response.status_code == 200
    assert response.data["auth"] == "APIKey"


@pytest.mark.parametrize("classes", [KEY_FIRST, TOKEN_FIRST], ids=["key first", "token first"])
def test_unknown_drf_token_is_token_authentications_answer(classes, drf_token):
    """The Token scheme belongs to TokenAuthentication: its own 401 (DRF's body)
    and its own challenge, whichever class runs first."""
    response = call(Whoami, classes, "Token " + "0" * 40)
    assert response.status_code == 401
    assert response.data == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Token"


def test_token_scheme_announced_by_a_class_is_not_refused_as_wrong():
    """A scheme a configured class announces stays that class's, even on a
    request it did not authenticate (here: an empty Token header value)."""
    response = call(Whoami, KEY_FIRST, "Token")
    assert response.status_code == 401
    assert response.data["detail"].code == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"


def test_key_under_token_scheme_is_refused_when_the_key_class_runs_first():
    _, raw = make_key()
    response = call(Whoami, KEY_FIRST, f"Token {raw}")
    assert response.status_code == 401
    assert response.data["code"] == "wrong_auth_scheme"


def test_key_under_token_scheme_when_token_class_runs_first():
    """TokenAuthentication answers first (documented: put the key class first
    to get the helpful code)."""
    _, raw = make_key()
    response = call(Whoami, TOKEN_FIRST, f"Token {raw}")
    assert response.status_code == 401
    assert response.data == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Token"


def test_basic_authentication_keeps_working(alice):
    classes = [APIKeyAuthentication, BasicAuthentication]
    response = call(Whoami, classes, basic("alice", "secret"))
    assert response.status_code == 200
    assert response.data["user"] == "alice"
    wrong = call(Whoami, classes, basic("alice", "wrong"))
    assert wrong.status_code == 401
    assert wrong.data == {"detail": "Invalid username/password."}
    assert wrong["WWW-Authenticate"] == 'Basic realm="api"'  # Basic stays Basic
    _, raw = make_key()
    keyed = call(Whoami, classes, basic(raw, ""))
    assert (keyed.status_code, keyed.data["code"]) == (401, "wrong_auth_scheme")


def test_anonymous_views_are_not_refused_for_a_foreign_scheme():
    """Nothing requires authentication here: an unknown non-key credential is
    ignored as DRF ignores it; a key under the wrong scheme is still refused."""
    response = call(Anyone, [APIKeyAuthentication], "Token abc")
    assert response.status_code == 200
    assert response.data["user"] == ""
    _, raw = make_key()
    response = call(Anyone, [APIKeyAuthentication], f"Token {raw}")
    assert response.data["code"] == "wrong_auth_scheme"
