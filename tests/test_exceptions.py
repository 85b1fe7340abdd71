"""The exception handler: this app's errors get DRF's detail plus a stable code
and type; every other error keeps DRF's answer."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework import exceptions as drf
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from django_apikeys import exceptions

pytestmark = pytest.mark.django_db
DRF_HANDLER = "rest_framework.views.exception_handler"


def raising(exc, handler: str | None = None):
    """The response to a site's view raising ``exc`` (under ``handler``, or
    the configured one)."""

    class V(APIView):
        authentication_classes: list = []
        permission_classes: list = []

        def get(self, request):
            raise exc

    if handler is None:
        response = V.as_view()(APIRequestFactory().get("/"))
    else:
        with override_settings(REST_FRAMEWORK={"EXCEPTION_HANDLER": handler}):
            response = V.as_view()(APIRequestFactory().get("/"))
    response.render()
    return response


@pytest.mark.parametrize(
    ("exc", "status", "code", "error_type"),
    [
        (exceptions.InvalidKey(), 401, "invalid_key", "AuthenticationError"),
        (exceptions.KeyRevoked(), 401, "key_revoked", "AuthenticationError"),
        (exceptions.KeyExpired(), 401, "key_expired", "AuthenticationError"),
        (exceptions.KeyInQuery(), 401, "key_in_query", "AuthenticationError"),
        (exceptions.MissingBearerPrefix(), 401, "missing_bearer_prefix", "AuthenticationError"),
        (exceptions.WrongAuthScheme(), 401, "wrong_auth_scheme", "AuthenticationError"),
        (exceptions.WrongKeyType(), 403, "wrong_key_type", "ForbiddenError"),
        (exceptions.ReadOnlyKey(), 403, "read_only_key", "ForbiddenError"),
        (exceptions.OrganizationMismatch(), 403, "organization_mismatch", "ForbiddenError"),
        (exceptions.OrganizationPermissionDenied(), 403, "permission_denied", "ForbiddenError"),
        (exceptions.NotEntitled(), 403, "not_entitled", "NotEntitledError"),
        (exceptions.RateLimited(wait=3), 429, "rate_limited", "RateLimitError"),
        (exceptions.OrganizationRequired(), 400, "organization_required", "InvalidRequestError"),
    ],
)
def test_codes_and_types(exc, status, code, error_type):
    response = raising(exc)
    assert response.status_code == status
    assert response.data["code"] == code
    assert response.data["type"] == error_type
    assert response.data["detail"]
    if status == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    if status == 429:
        assert response["Retry-After"] == "3"
        assert response.data["retry_after"] == 3


def test_insufficient_scope_names_the_scope():
    response = raising(exceptions.InsufficientScope(["clients:write"]))
    assert response.data["required_scopes"] == ["clients:write"]
    assert "clients:write" in response.data["detail"]


DRF_ERRORS = [
    drf.NotAuthenticated(),
    drf.AuthenticationFailed(),
    drf.PermissionDenied(),
    drf.Throttled(wait=3),
    drf.NotFound(),
    drf.MethodNotAllowed("PUT"),
    drf.ValidationError({"amount": ["Required."], "code": ["Taken."]}),
    drf.ParseError(),
]


@pytest.mark.parametrize("exc", DRF_ERRORS, ids=[type(e).__name__ for e in DRF_ERRORS])
def test_other_errors_keep_drfs_answer(exc):
    """Not ours: status, body and headers exactly as DRF's own handler answers."""
    expected = raising(exc, DRF_HANDLER)
    response = raising(exc)
    assert response.status_code == expected.status_code
    assert response.content == expected.content
    assert response.get("WWW-Authenticate") == expected.get("WWW-Authenticate")
    assert response.get("Retry-After") == expected.get("Retry-After")


def test_validation_errors_keep_their_shape():
    response = raising(drf.ValidationError({"amount": ["Required."]}))
    assert response.status_code == 400
    assert response.data == {"amount": ["Required."]}


def test_non_api_exceptions_are_left_to_django():
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        raising(Boom())
