"""The permission truth table: this app's permission classes composed with
``|``, ``&`` and ``~`` with DRF's ``IsAdminUser``, ``IsAuthenticated``,
``IsAuthenticatedOrReadOnly`` and django-oauth-toolkit's ``TokenHasScope``,
on either side, give exactly the boolean a reader expects, for every caller
and method: 200 when the expression holds, else 401 without a credential and
403 with one. Operand order never changes the answer."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from oauth2_provider.contrib.rest_framework import OAuth2Authentication, TokenHasScope
from rest_framework.authentication import BasicAuthentication
from rest_framework.permissions import (
    BasePermission,
    IsAdminUser,
    IsAuthenticated,
    IsAuthenticatedOrReadOnly,
)
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from django_apikeys.authentication import APIKeyAuthentication
from django_apikeys.permissions import HasKeyType, HasScopes
from tests.compat.tokens import dot_token
from tests.factories import make_key

pytestmark = pytest.mark.django_db
Bool = Callable[[bool, bool], bool]
Compose = Callable[[Any, Any], Any]

#: (name, composition of classes, the boolean it must equal)
EXPRESSIONS: list[tuple[str, Compose, Bool]] = [
    ("A|B", lambda a, b: a | b, lambda a, b: a or b),
    ("B|A", lambda a, b: b | a, lambda a, b: a or b),
    ("A&B", lambda a, b: a & b, lambda a, b: a and b),
    ("B&A", lambda a, b: b & a, lambda a, b: a and b),
    ("~A", lambda a, b: ~a, lambda a, b: not a),
    ("~B", lambda a, b: ~b, lambda a, b: not b),
    ("~A|B", lambda a, b: ~a | b, lambda a, b: (not a) or b),
    ("B&~A", lambda a, b: b & ~a, lambda a, b: b and not a),
    ("~(A|B)", lambda a, b: ~(a | b), lambda a, b: not (a or b)),
]
OURS: list[type[BasePermission]] = [HasScopes, HasKeyType]
THEIRS: list[type[BasePermission]] = [
    IsAdminUser,
    IsAuthenticated,
    IsAuthenticatedOrReadOnly,
    TokenHasScope,
]
CALLERS = ["anonymous", "admin", "key", "key-without-scope", "oauth-token"]

#: Each operand alone, per caller and method (GET, POST).
ALONE: dict[type[BasePermission], dict[str, tuple[bool, bool]]] = {
    HasScopes: {"key": (True, True)},
    HasKeyType: {"key": (True, True), "key-without-scope": (True, True)},
    IsAdminUser: {"admin": (True, True)},
    IsAuthenticated: {c: (True, True) for c in CALLERS if c != "anonymous"},
    IsAuthenticatedOrReadOnly: {c: (True, c != "anonymous") for c in CALLERS},
    TokenHasScope: {"oauth-token": (True, True)},
}


def alone(permission: type[BasePermission], caller: str, method: str) -> bool:
    get, post = ALONE[permission].get(caller, (False, False))
    return get if method == "get" else post


class Guarded(APIView):
    authentication_classes = [APIKeyAuthentication, BasicAuthentication, OAuth2Authentication]
    required_scopes = ["widgets:read"]  # read by HasScopes and by TokenHasScope
    allowed_key_types = ["server"]

    def get(self, request: Any) -> Response:
        return Response({"ok": True})

    post = get


@pytest.fixture
def callers(db: Any) -> dict[str, dict[str, str]]:
    User.objects.create_superuser("root", password="secret")
    alice = User.objects.create_user("alice", password="secret")
    _, with_scope = make_key(scopes=["widgets:read"])
    _, without = make_key(scopes=["other:read"])
    dot = dot_token(alice)
    return {
        "anonymous": {},
        "admin": {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"root:secret").decode()},
        "key": {"HTTP_AUTHORIZATION": f"Bearer {with_scope}"},
        "key-without-scope": {"HTTP_AUTHORIZATION": f"Bearer {without}"},
        "oauth-token": {"HTTP_AUTHORIZATION": f"Bearer {dot}"},
    }


CASES = [(ours, theirs, e) for ours in OURS for theirs in THEIRS for e in EXPRESSIONS]


@pytest.mark.parametrize(
    ("ours", "theirs", "expression"),
    CASES,
    ids=[f"{e[0]}-{o.__name__}-{t.__name__}" for o, t, e in CASES],
)
def test_truth_table(
    ours: type[BasePermission],
    theirs: type[BasePermission],
    expression: tuple[str, Compose, Bool],
    callers: dict[str, dict[str, str]],
) -> None:
    name, compose, truth = expression
    view = Guarded.as_view(permission_classes=[compose(ours, theirs)])
    factory = APIRequestFactory()
    wrong = []
    for caller, headers in callers.items():
        for method in ("get", "post"):
            expected = truth(alone(ours, caller, method), alone(theirs, caller, method))
            status = 200 if expected else (401 if caller == "anonymous" else 403)
            response = view(getattr(factory, method)("/guarded", **headers))
            if response.status_code != status:
                wrong.append((caller, method, status, response.status_code))
    assert wrong == [], f"{name} with A={ours.__name__}, B={theirs.__name__}: {wrong}"


@pytest.mark.parametrize("ours", OURS)
@pytest.mark.parametrize("theirs", THEIRS)
def test_each_operand_alone(
    ours: type[BasePermission],
    theirs: type[BasePermission],
    callers: dict[str, dict[str, str]],
) -> None:
    """The table's premises: each class alone answers as ``ALONE`` says."""
    factory = APIRequestFactory()
    for permission in (ours, theirs):
        view = Guarded.as_view(permission_classes=[permission])
        for caller, headers in callers.items():
            for method in ("get", "post"):
                response = view(getattr(factory, method)("/guarded", **headers))
                assert (response.status_code == 200) is alone(permission, caller, method), (
                    permission.__name__,
                    caller,
                    method,
                    response.status_code,
                )
