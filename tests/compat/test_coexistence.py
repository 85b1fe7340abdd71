"""The app beside the field's other authentication classes, in several orders:
each credential reaches the view through its own class, each refusal keeps
its own scheme's status and challenge, validation bodies stay DRF's, and a
site's own exception handler keeps this app's bodies and analytics."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from django_apikeys import analytics
from django_apikeys.models import APIKey
from tests.compat.tokens import dot_token
from tests.factories import make_key

from .views import ORDERS

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("tests.compat.urls"),
    # simplejwt signs with the test settings' (short) SECRET_KEY.
    pytest.mark.filterwarnings("ignore:The HMAC key is:UserWarning"),
]

CLASS_OF = {
    "key-bearer": "APIKeyAuthentication",
    "key-header": "APIKeyAuthentication",
    "jwt": "JWTAuthentication",
    "dot": "OAuth2Authentication",
    "drf-token": "TokenAuthentication",
    "basic": "BasicAuthentication",
    "session": "SessionAuthentication",
}
NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def alice(db: Any) -> User:
    return User.objects.create_user("alice", password="secret")


@pytest.fixture
def credentials(alice: User) -> dict[str, dict[str, str]]:
    """Request headers per credential kind, each for a class of its own."""
    _, raw = make_key(scopes=["widgets:read"])
    dot = dot_token(alice)
    return {
        "key-bearer": {"HTTP_AUTHORIZATION": f"Bearer {raw}"},
        "key-header": {"HTTP_X_API_KEY": raw},
        "jwt": {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(alice)}"},
        "dot": {"HTTP_AUTHORIZATION": f"Bearer {dot}"},
        "drf-token": {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=alice).key}"},
        "basic": {"HTTP_AUTHORIZATION": basic("alice", "secret")},
        "session": {},
    }


def listed(order: str, kind: str) -> bool:
    return CLASS_OF[kind] in {klass.__name__ for klass in ORDERS[order]}


CELLS = [(order, kind) for order in ORDERS for kind in CLASS_OF if listed(order, kind)]


@pytest.mark.parametrize(("order", "kind"), CELLS, ids=[f"{o}:{k}" for o, k in CELLS])
def test_each_credential_reaches_the_view_through_its_own_class(
    order: str, kind: str, credentials: dict[str, dict[str, str]], alice: User
) -> None:
    client = APIClient()
    if kind == "session":
        client.force_login(alice)
    response = client.get(f"/{order}/whoami", **credentials[kind])
    if order == "jwt-first" and kind == "key-bearer":
        # simplejwt refuses a Bearer value it cannot verify before our class
        # runs (check W005 says so): its own answer, keys go in X-API-Key.
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"
        return
    assert response.status_code == 200, response.content
    assert response.json()["authenticator"] == CLASS_OF[kind]


BAD_KEY = {"HTTP_AUTHORIZATION": "Bearer sk_" + "A" * 32 + "_00000000"}
BAD_BASIC = {"HTTP_AUTHORIZATION": basic("alice", "wrong")}
BAD_TOKEN = {"HTTP_AUTHORIZATION": "Token " + "0" * 40}
BAD_JWT = {"HTTP_AUTHORIZATION": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln"}

#: (order, refused credential) -> (status, challenge or None, body check).
REFUSALS: list[tuple[str, str, dict[str, str], int, str | None, dict[str, Any]]] = [
    # Our key, clearly meant as one: our code and challenge in every order
    # where our class sees it.
    *[
        (order, "bad-key", BAD_KEY, 401, 'Bearer realm="api"', {"code": "invalid_key"})
        for order in ("key-first", "dot-first", "others-first", "session-first")
    ],
    ("jwt-first", "bad-key", BAD_KEY, 401, 'Bearer realm="api"', {"code": "token_not_valid"}),
    # Basic stays Basic; a session-first view keeps DRF's 403.
    *[
        (order, "bad-basic", BAD_BASIC, 401, 'Basic realm="api"', {})
        for order in ("key-first", "dot-first", "others-first", "jwt-first")
    ],
    ("session-first", "bad-basic", BAD_BASIC, 403, None, {}),
    # DRF's Token scheme keeps its challenge.
    *[
        (order, "bad-token", BAD_TOKEN, 401, "Token", {"detail": "Invalid token."})
        for order in ("key-first", "dot-first", "others-first")
    ],
    ("session-first", "bad-token", BAD_TOKEN, 403, None, {"detail": "Invalid token."}),
    # simplejwt's refusal keeps simplejwt's body.
    *[
        (order, "bad-jwt", BAD_JWT, 401, "Bearer", {"code": "token_not_valid"})
        for order in ("key-first", "dot-first", "others-first", "jwt-first")
    ],
    # No credential: the first class's challenge, or DRF's 403 without one.
    ("key-first", "none", {}, 401, 'Bearer realm="api"', {"code": "not_authenticated"}),
    ("dot-first", "none", {}, 401, 'Bearer realm="api"', NOT_PROVIDED),
    ("others-first", "none", {}, 401, 'Basic realm="api"', NOT_PROVIDED),
    ("jwt-first", "none", {}, 401, 'Bearer realm="api"', NOT_PROVIDED),
    ("session-first", "none", {}, 403, None, NOT_PROVIDED),
]


@pytest.mark.parametrize(
    ("order", "what", "headers", "status", "challenge", "body"),
    REFUSALS,
    ids=[f"{r[0]}:{r[1]}" for r in REFUSALS],
)
def test_each_refusal_keeps_its_own_scheme(
    order: str,
    what: str,
    headers: dict[str, str],
    status: int,
    challenge: str | None,
    body: dict[str, Any],
    alice: User,
) -> None:
    response = APIClient().get(f"/{order}/whoami", **headers)
    assert response.status_code == status, response.content
    announced = response.get("WWW-Authenticate")
    if challenge is None:
        assert announced is None
    else:
        assert announced is not None and announced.startswith(challenge)
    data = response.json()
    for name, value in body.items():
        assert data[name] == value
    if body == NOT_PROVIDED or what in ("bad-basic", "bad-token"):
        assert data == body or set(data) == {"detail"}  # DRF's body, nothing added


def test_a_session_only_view_keeps_drfs_403() -> None:
    response = APIClient().get("/session-only/whoami")
    assert (response.status_code, response.json()) == (403, NOT_PROVIDED)
    assert "WWW-Authenticate" not in response


def test_validation_bodies_are_drfs_even_with_fields_named_code_and_type() -> None:
    _, raw = make_key()
    client = APIClient()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    response = client.post("/widgets", {"code": "toolong", "type": "x"}, format="json", **auth)
    assert response.status_code == 400
    assert response.json() == {"code": ["Ensure this field has no more than 3 characters."]}
    response = client.post("/widgets", {"code": "abc"}, format="json", **auth)
    assert response.json() == {"type": ["This field is required."]}


def with_handler(settings: Any, handler: str) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": handler}


def test_a_site_handler_wrapping_ours_keeps_our_bodies_and_its_own_ways(settings: Any) -> None:
    with_handler(settings, "tests.compat.handlers.site_exception_handler")
    _, raw = make_key(scopes=["other:read"])
    response = APIClient().get("/scoped", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Forbidden: missing scope(s) widgets:read.",
        "code": "insufficient_scope",
        "type": "ForbiddenError",
        "required_scopes": ["widgets:read"],
    }
    assert response["X-Site-Handler"] == "yes"
    refused = APIClient().get("/key-first/whoami", **BAD_KEY)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_key")
    assert refused["WWW-Authenticate"] == 'Bearer realm="api"'
    assert refused["X-Site-Handler"] == "yes"


def outcomes(organization: Any, api_key: Any = None) -> dict[str, int]:
    return analytics.outcome_series(organization, "24h", api_key)[-1].refusals


def test_refusals_are_counted_under_a_handler_that_is_not_ours(settings: Any) -> None:
    """DRF's own handler, nothing of ours in it: the analytics still hold."""
    with_handler(settings, "rest_framework.views.exception_handler")
    client = APIClient()
    api_key, raw = make_key(scopes=["other:read"])
    scoped = client.get("/scoped", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert scoped.status_code == 403
    assert scoped.json() == {"detail": "Forbidden: missing scope(s) widgets:read."}
    APIKey.objects.filter(pk=api_key.pk).update(is_active=False)
    assert client.get("/key-first/whoami", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert client.get("/key-first/whoami", **BAD_KEY).status_code == 401
    assert outcomes(api_key.organization, api_key) == {"insufficient_scope": 1, "key_revoked": 1}
    assert outcomes(None) == {"invalid_key": 1}  # no key proved: counted globally
