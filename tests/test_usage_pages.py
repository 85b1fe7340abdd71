"""The usage pages: numbers equal to what was sent (page, chart and CSV), the
organization/key switch, each period, scoping and bad parameters."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

import pytest
from django.urls import reverse

from django_apikeys import analytics, metering
from django_apikeys.dashboard.usage import chart, nice_ceiling
from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, OrganizationFactory, bearer, make_key, role

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
ASSESS = "/api/v1/assess"
FAMILIES = [name for name, _label in analytics.FAMILIES]


def usage_url(org: Any, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("django_apikeys:usage", args=[org.pk]) + (f"?{query}" if query else "")


def key_usage_url(org: Any, api_key: Any, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = reverse("django_apikeys:key_usage", args=[org.pk, api_key.pk])
    return url + (f"?{query}" if query else "")


def csv_rows(response: Any) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.content.decode())))


def family_totals(response: Any) -> dict[str, int]:
    return {
        name: count
        for name, (_label, count) in zip(FAMILIES, response.context["totals"], strict=True)
    }


@pytest.fixture
def world(api_client):
    """An organization whose keys sent a known mix of requests this hour."""
    owner = MembershipFactory(role=role("Owner"))
    org = owner.organization
    busy, busy_raw = make_key(org, name="busy", scopes=["clients:read"])
    quiet, quiet_raw = make_key(org, name="quiet")
    for _ in range(4):
        assert api_client.get(ME, **bearer(busy_raw)).status_code == 200
    for _ in range(3):  # insufficient_scope: ForbiddenError
        assert api_client.post(ASSESS, {}, **bearer(busy_raw)).status_code == 403
    assert api_client.get(ME, **bearer(quiet_raw)).status_code == 200
    APIKey.objects.filter(pk=quiet.pk).update(is_active=False)
    for _ in range(2):  # key_revoked: AuthenticationError
        assert api_client.get(ME, **bearer(quiet_raw)).status_code == 401
    other_org = OrganizationFactory()
    _, other_raw = make_key(other_org)
    api_client.get(ME, **bearer(other_raw))  # not ours: must not show up
    return {"owner": owner, "org": org, "busy": busy, "quiet": quiet}


EXPECTED_ORG = {
    "admitted": 5,
    "AuthenticationError": 2,
    "ForbiddenError": 3,
    "NotEntitledError": 0,
    "RateLimitError": 0,
    "other": 0,
}


@pytest.mark.parametrize("flushed", [False, True], ids=["in-cache", "flushed"])
def test_page_table_chart_and_csv_equal_what_was_sent(client, world, flushed):
    if flushed:
        assert metering.flush().requests == 11  # ours and the other organization's one
    client.force_login(world["owner"].user)
    for period in ("24h", "7d"):
        response = client.get(usage_url(world["org"], period=period))
        assert response.status_code == 200
        assert family_totals(response) == EXPECTED_ORG
        assert response.context["total"] == 10 and response.context["refused"] == 5
        current = response.context["rows"][-1]
        assert current["counts"] == [EXPECTED_ORG[name] for name in FAMILIES]
        html = response.content.decode()
        # the chart's segments carry the same numbers
        counts = [
            int(n) for n in re.findall(r'<rect class="outcome-[^"]+"[^>]*data-count="(\d+)"', html)
        ]
        assert sorted(counts) == [2, 3, 5]
        assert "<code>insufficient_scope</code>" in html and "<code>key_revoked</code>" in html
        exported = csv_rows(client.get(usage_url(world["org"], period=period, export="csv")))
        assert len(exported) == 1 + len(response.context["rows"])
        assert exported[-1][1:] == [str(n) for n in current["counts"]] + ["10"]
        assert sum(int(row[-1]) for row in exported[1:]) == 10
    top = {row.api_key.name: row for row in response.context["top_keys"]}
    assert (top["busy"].requests, top["busy"].refusals, top["busy"].last_refusal_code) == (
        4,
        3,
        "insufficient_scope",
    )
    assert (top["quiet"].requests, top["quiet"].refusals, top["quiet"].last_refusal_code) == (
        1,
        2,
        "key_revoked",
    )
    assert list(top) == ["busy", "quiet"]  # busiest first


def test_switch_to_one_key_and_its_own_page(client, world):
    client.force_login(world["owner"].user)
    org, busy = world["org"], world["busy"]
    one = client.get(usage_url(org, period="24h", key=str(busy.pk)))
    assert one.context["selected_key"] == busy
    assert family_totals(one) == {**EXPECTED_ORG, "admitted": 4, "AuthenticationError": 0}
    page = client.get(key_usage_url(org, busy, period="24h"))
    assert page.status_code == 200
    assert family_totals(page) == family_totals(one)
    assert [row["counts"] for row in page.context["rows"]] == [
        row["counts"] for row in one.context["rows"]
    ]
    exported = csv_rows(client.get(key_usage_url(org, busy, period="24h", export="csv")))
    assert (
        "usage-key-busy-30d.csv"
        in client.get(key_usage_url(org, busy, export="csv"))["Content-Disposition"]
    )
    assert exported[-1][1:] == ["4", "0", "3", "0", "0", "0", "7"]
    # reached from the key list
    listing = client.get(reverse("django_apikeys:key_list", args=[org.pk])).content.decode()
    assert reverse("django_apikeys:key_usage", args=[org.pk, busy.pk]) in listing


@pytest.mark.parametrize(
    ("query", "name", "buckets", "hourly"),
    [
        ({}, "30d", 30, False),
        ({"period": "24h"}, "24h", 24, True),
        ({"period": "7d"}, "7d", 7, False),
        ({"period": "30d"}, "30d", 30, False),
        ({"period": "90d"}, "90d", 90, False),
        ({"days": "7"}, "7d", 7, False),  # links from before the periods
        ({"period": "1y"}, "30d", 30, False),
        ({"period": "<script>"}, "30d", 30, False),
        ({"period": ""}, "30d", 30, False),
    ],
)
def test_each_period_and_bad_values_fall_back_to_the_default(
    client, world, query, name, buckets, hourly
):
    client.force_login(world["owner"].user)
    response = client.get(usage_url(world["org"], **query))
    assert response.status_code == 200
    assert response.context["period"].name == name
    assert len(response.context["rows"]) == buckets
    assert response.context["rows"][-1]["total"] == 10  # everything was sent this hour
    assert len(response.context["chart"]["bars"]) == buckets
    assert ("Hour" in response.content.decode()) == hourly


@pytest.mark.parametrize("bad", ["not-a-uuid", str(uuid.uuid4()), "%00", "1' OR 1=1"])
def test_a_key_that_is_not_this_organizations_is_404(client, world, bad):
    client.force_login(world["owner"].user)
    assert client.get(usage_url(world["org"], key=bad)).status_code == 404


def test_another_organizations_key_is_404_on_both_pages(client, world):
    client.force_login(world["owner"].user)
    foreign, _ = make_key(OrganizationFactory())
    assert client.get(usage_url(world["org"], key=str(foreign.pk))).status_code == 404
    foreign_page = reverse("django_apikeys:key_usage", args=[world["org"].pk, foreign.pk])
    assert client.get(foreign_page).status_code == 404
    assert client.get(foreign_page + "?export=csv").status_code == 404
    # and another organization's usage page itself
    assert client.get(usage_url(foreign.organization)).status_code == 404


def test_billing_sees_the_organization_but_no_keys(client, world):
    billing = MembershipFactory(organization=world["org"], role=role("Billing"))
    client.force_login(billing.user)
    response = client.get(usage_url(world["org"], key=str(world["busy"].pk)))
    assert response.status_code == 200 and response.context["selected_key"] is None
    assert response.context["top_keys"] == []
    assert "busy" not in response.content.decode()
    assert client.get(key_usage_url(world["org"], world["busy"])).status_code == 403


def test_editor_cannot_open_usage(client, world):
    editor = MembershipFactory(organization=world["org"], role=role("Editor"))
    client.force_login(editor.user)
    assert client.get(usage_url(world["org"])).status_code == 403
    assert client.get(usage_url(world["org"], export="csv")).status_code == 403


def test_empty_period_renders_a_zero_chart(client):
    owner = MembershipFactory(role=role("Owner"))
    client.force_login(owner.user)
    response = client.get(usage_url(owner.organization, period="7d"))
    assert response.status_code == 200
    assert "No requests in this period." in response.content.decode()
    exported = csv_rows(client.get(usage_url(owner.organization, export="csv", period="7d")))
    assert [row[-1] for row in exported[1:]] == ["0"] * 7


def test_chart_geometry_stacks_to_scale():
    assert [nice_ceiling(n) for n in (0, 1, 3, 7, 10, 11, 260)] == [1, 1, 5, 10, 10, 20, 500]
    hour = metering.current_hour()
    buckets = [
        analytics.Bucket(hour, admitted=10, refusals={"rate_limited": 10}),
        analytics.Bucket(hour, admitted=5),
        analytics.Bucket(hour),
    ]
    geometry = chart(buckets, hourly=True)
    first, second, third = geometry["bars"]
    assert [s.family for s in first.segments] == ["admitted", "RateLimitError"]
    assert [s.height for s in first.segments] == [100.0, 100.0]  # 20 is the top: 200px
    assert second.segments[0].height == 50.0 and third.segments == []
    assert first.segments[1].y + first.segments[1].height == first.segments[0].y  # stacked
    assert first.x + first.width < second.x < 100 and third.x + third.width <= 100
