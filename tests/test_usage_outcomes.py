"""Outcome counting: every refusal code of the pipeline is counted once, per
organization, key and hour; flushing moves refusals exactly like admitted
requests; the hot path costs what it cost before."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from django_apikeys import analytics, metering
from django_apikeys.cache import get_cache
from django_apikeys.middleware import RateLimitHeadersMiddleware
from django_apikeys.models import APIKey, UsageOutcome, UsageRecord
from django_apikeys.permissions import HasEntitlement, HasKeyType, HasScopes
from tests.factories import OrganizationFactory, PlanFactory, bearer, make_key

pytestmark = pytest.mark.django_db
factory = APIRequestFactory()
ME = "/api/v1/me"


class Ok(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Any, **kwargs: Any) -> Response:
        return Response({"ok": True})

    post = get


def call(raw: str, method: str = "get", headers: dict[str, str] | None = None, **attrs: Any):
    """Through ``RateLimitHeadersMiddleware``, which counts refusals."""
    view = RateLimitHeadersMiddleware(type("V", (Ok,), attrs).as_view())
    request = getattr(factory, method)("/x", **bearer(raw), **(headers or {}))
    response = view(request)
    response.render()
    return response


def outcomes(organization: Any, api_key: Any = None) -> tuple[int, dict[str, int]]:
    """(admitted, refusals by code) of the current hour."""
    bucket = analytics.outcome_series(organization, "24h", api_key)[-1]
    return bucket.admitted, bucket.refusals


def _revoked(api_key: APIKey, raw: str):
    APIKey.objects.filter(pk=api_key.pk).update(is_active=False)
    return call(raw)


def _expired(api_key: APIKey, raw: str):
    APIKey.objects.filter(pk=api_key.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    return call(raw)


def _deactivated(api_key: APIKey, raw: str):
    type(api_key.organization).objects.filter(pk=api_key.organization_id).update(
        deactivated_at=timezone.now()
    )
    return call(raw)


def _scope(api_key: APIKey, raw: str):
    return call(raw, permission_classes=[IsAuthenticated, HasScopes], required_scopes=["x:read"])


def _key_type(api_key: APIKey, raw: str):
    return call(raw, permission_classes=[IsAuthenticated, HasKeyType], allowed_key_types=["user"])


def _mismatch(api_key: APIKey, raw: str):
    return call(raw, headers={"HTTP_X_ORGANIZATION": str(OrganizationFactory().pk)})


def _not_entitled(api_key: APIKey, raw: str):
    return call(
        raw, permission_classes=[IsAuthenticated, HasEntitlement], required_entitlement="reports"
    )


def _origin(api_key: APIKey, raw: str):
    APIKey.objects.filter(pk=api_key.pk).update(allowed_origins=["https://shop.example"])
    return call(raw, headers={"HTTP_ORIGIN": "https://evil.example"})


def _ip(api_key: APIKey, raw: str):
    APIKey.objects.filter(pk=api_key.pk).update(allowed_ips=["203.0.113.7"])
    return call(raw, headers={"REMOTE_ADDR": "198.51.100.1"})


def _rate_limited(api_key: APIKey, raw: str):
    APIKey.objects.filter(pk=api_key.pk).update(rate_limit_per_minute=1)
    assert call(raw).status_code == 200
    return call(raw)


def _quota(api_key: APIKey, raw: str):
    APIKey.objects.filter(pk=api_key.pk).update(remaining_uses=0)
    return call(raw)


REFUSALS = [
    ("key_revoked", 401, _revoked),
    ("key_expired", 401, _expired),
    ("organization_deactivated", 401, _deactivated),
    ("insufficient_scope", 403, _scope),
    ("wrong_key_type", 403, _key_type),
    ("organization_mismatch", 403, _mismatch),
    ("not_entitled", 403, _not_entitled),
    ("origin_not_allowed", 403, _origin),
    ("ip_not_allowed", 403, _ip),
    ("rate_limited", 429, _rate_limited),
    ("quota_exhausted", 429, _quota),
]


@pytest.mark.parametrize(("code", "status", "provoke"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_refusal_is_counted_once_against_its_key(code, status, provoke):
    org = OrganizationFactory(plan=PlanFactory(entitlements=[]))
    api_key, raw = make_key(org, scopes=["clients:read"])
    other, _ = make_key(org)
    response = provoke(api_key, raw)
    assert (response.status_code, response.data["code"]) == (status, code)
    admitted = 1 if code == "rate_limited" else 0  # the request that used the allowance
    assert outcomes(org, api_key) == (admitted, {code: 1})
    assert outcomes(org, other) == (0, {})
    assert outcomes(org) == (admitted, {code: 1})


def test_read_only_key_is_counted(settings):
    settings.APIKEYS = {
        "KEY_TYPES": {
            "live": {"prefix": "sk_live"},
            "test": {"prefix": "sk_test", "read_only": True},
        }
    }
    api_key, raw = make_key(key_type="test")
    assert call(raw, "post").data["code"] == "read_only_key"
    assert outcomes(api_key.organization, api_key) == (0, {"read_only_key": 1})


def test_invalid_key_counts_globally_whatever_organization_the_header_names(api_client):
    """Naming an organization proves nothing: anonymous refusals are never
    charged to the organization they name (30 made-up keys with a victim's
    id must not fill the victim's usage page)."""
    org = OrganizationFactory()
    _, raw = make_key(org)
    bad = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    for _ in range(3):
        named = api_client.get(ME, HTTP_X_ORGANIZATION=str(org.pk), **bearer(bad))
        assert named.json()["code"] == "invalid_key"
    anonymous = api_client.get(ME, **bearer(bad))
    assert anonymous.json()["code"] == "invalid_key"
    assert outcomes(org) == (0, {})
    assert outcomes(None) == (0, {"invalid_key": 4})  # the global count
    metering.flush()
    rows = {(row.organization_id, row.outcome, row.count) for row in UsageOutcome.objects.all()}
    assert rows == {(None, "invalid_key", 4)}


def test_requests_without_a_credential_and_session_users_are_not_counted(api_client):
    org = OrganizationFactory()
    response = api_client.get(ME, HTTP_X_ORGANIZATION=str(org.pk))
    assert response.json()["code"] == "not_authenticated"
    assert outcomes(org) == (0, {})
    assert outcomes(None) == (0, {})


def test_admitted_and_refused_flush_into_hourly_rows_and_daily_records(api_client):
    org = OrganizationFactory()
    api_key, raw = make_key(org, scopes=["clients:read"])
    for _ in range(3):
        assert api_client.get(ME, **bearer(raw)).status_code == 200
    for _ in range(2):
        assert _scope(api_key, raw).status_code == 403
    before = analytics.outcome_series(org, "7d")
    result = metering.flush()
    assert (result.counters, result.requests) == (2, 5)
    hour = metering.current_hour()
    rows = {(r.api_key_id, r.hour, r.outcome, r.count) for r in UsageOutcome.objects.all()}
    assert rows == {
        (api_key.pk, hour, "admitted", 3),
        (api_key.pk, hour, "insufficient_scope", 2),
    }
    assert UsageRecord.objects.get().count == 3  # refusals are not usage of the quota readers
    assert analytics.outcome_series(org, "7d") == before  # moved, not doubled
    assert before[-1].admitted == 3 and before[-1].refusals == {"insufficient_scope": 2}
    assert metering.daily_usage(org, days=1)[0][1] == 3
    assert metering.flush().requests == 0


def test_a_refusal_of_a_deleted_organization_is_kept_globally():
    org = OrganizationFactory()
    api_key, raw = make_key(org)
    APIKey.objects.filter(pk=api_key.pk).update(is_active=False)
    call(raw)
    org.delete()
    assert metering.flush().requests == 1
    row = UsageOutcome.objects.get()
    assert (row.organization_id, row.api_key_id, row.outcome) == (None, None, "key_revoked")


def test_a_view_error_after_admission_is_not_also_a_refusal():
    api_key, raw = make_key()

    def get(self: Any, request: Any) -> Response:
        from django_apikeys.exceptions import NotEntitled

        raise NotEntitled()

    assert call(raw, get=get).status_code == 403
    assert outcomes(api_key.organization, api_key) == (1, {})


def test_counting_survives_an_unreachable_cache(monkeypatch):
    api_key, raw = make_key()
    cache = get_cache()

    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("cache down")

    monkeypatch.setattr(type(cache), "incr", down)
    metering.record_refusal("key_revoked", api_key.organization_id, api_key.pk)  # no raise


class CountingCache:
    """Counts the operations made on the metering cache."""

    def __init__(self, cache: Any) -> None:
        self.cache, self.calls = cache, []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.cache, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)

        return counted


def test_cache_operations_per_request(monkeypatch):
    """Metering's cache cost: one increment per admitted request and one per
    refusal once the hour's counter exists (registration: add + index
    increment + slot, plus the organization's slot for its first counter)."""
    api_key, raw = make_key()
    counting = CountingCache(get_cache())
    monkeypatch.setattr(metering, "get_cache", lambda: counting)
    call(raw)
    assert counting.calls == ["incr", "add", "incr", "add", "set", "incr", "add", "set"]
    counting.calls.clear()
    call(raw)
    assert counting.calls == ["incr"]  # admitted: as before outcomes were counted
    APIKey.objects.filter(pk=api_key.pk).update(is_active=False)
    call(raw)
    counting.calls.clear()
    call(raw)
    assert counting.calls == ["incr"]  # refused


def test_a_missing_organization_header_is_counted_but_a_bad_body_is_not(settings):
    settings.APIKEYS = {"REQUIRE_ORGANIZATION_HEADER": True}
    api_key, raw = make_key()
    assert call(raw).data["code"] == "organization_required"
    assert outcomes(api_key.organization, api_key) == (0, {"organization_required": 1})

    def post(self: Any, request: Any) -> Response:
        from rest_framework.exceptions import ValidationError

        raise ValidationError({"name": ["This field is required."]})

    header = {"HTTP_X_ORGANIZATION": str(api_key.organization_id)}
    # Metered as admitted even without throttle classes; the 400 is no refusal.
    response = call(raw, "post", headers=header, post=post, throttle_classes=[])
    assert response.status_code == 400
    assert outcomes(api_key.organization, api_key) == (1, {"organization_required": 1})


def test_outcome_rows_are_read_only_in_the_admin(admin_client):
    api_key, _ = make_key()
    metering.record_refusal("key_revoked", api_key.organization_id, api_key.pk)
    metering.flush()
    listing = admin_client.get("/admin/django_apikeys/usageoutcome/")
    assert listing.status_code == 200 and "key_revoked" in listing.content.decode()
    assert admin_client.get("/admin/django_apikeys/usageoutcome/add/").status_code == 403
