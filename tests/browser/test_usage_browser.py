"""The usage pages in a real Chromium, at a laptop and a phone width: the
stacked SVG chart and its table render (visible, non-zero bars, labels at body
size, no horizontal overflow). Screenshots ``10-usage``, ``22-usage-phone``
and ``23-key-usage`` go to ``test-artifacts/screenshots/`` (the docs use
copies of them)."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.urls import reverse

from django_apikeys import metering
from django_apikeys.models import APIKey, UsageOutcome, UsageRecord
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PlanFactory,
    UserFactory,
    make_key,
    role,
)

from .conftest import SCREENSHOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles_each_test"),
]

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def login(page: Any, username: str, password: str = "pw") -> None:
    page.goto("/apikeys/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/apikeys/$"))


@pytest.fixture
def acme(api: Any) -> Any:
    """Acme with a week of history (flushed rows) and this hour's requests sent for real."""
    org = OrganizationFactory(name="Acme Corp", slug="acme", plan=PlanFactory(name="Pro"))
    owner = MembershipFactory(
        organization=org, user=UserFactory(username="owner"), role=role("Owner")
    )
    backend, backend_raw = make_key(org, name="Production backend", scopes=["clients:read"])
    widget, _ = make_key(org, "publishable", name="Checkout widget", scopes=["assess"])
    old, old_raw = make_key(org, name="Old integration", scopes=["clients:read"])
    now = metering.current_hour()
    for days_ago in range(1, 7):
        day = now - datetime.timedelta(days=days_ago)
        for api_key, admitted, refusals in (
            (backend, 40 + 9 * days_ago, {"rate_limited": days_ago % 3 * 4}),
            (widget, 25 - 2 * days_ago, {"origin_not_allowed": 3, "insufficient_scope": 1}),
            (old, 10, {"key_expired": days_ago}),
        ):
            UsageRecord.objects.create(
                organization=org, api_key=api_key, date=day.date(), count=admitted
            )
            UsageOutcome.objects.create(
                organization=org, api_key=api_key, hour=day, outcome="admitted", count=admitted
            )
            for code, count in refusals.items():
                if count:
                    UsageOutcome.objects.create(
                        organization=org, api_key=api_key, hour=day, outcome=code, count=count
                    )
    headers = {"Authorization": f"Bearer {backend_raw}"}
    for _ in range(12):
        assert api.get("/api/v1/clients", headers=headers).status == 200
    for _ in range(4):
        assert api.post("/api/v1/assess", headers=headers, data={}).status == 403
    APIKey.objects.filter(pk=old.pk).update(is_active=False)
    for _ in range(3):
        assert (
            api.get("/api/v1/clients", headers={"Authorization": f"Bearer {old_raw}"}).status
            == 401
        )
    owner.user.set_password("pw")
    owner.user.save()
    return org


def check_chart_and_table(page: Any) -> None:
    chart = page.locator("figure.apikeys-outcomes-chart svg")
    chart.wait_for()
    assert chart.is_visible()
    bars = page.locator("figure.apikeys-outcomes-chart rect")
    assert bars.count() > 0
    heights = bars.evaluate_all("rects => rects.map(r => r.getBoundingClientRect().height)")
    assert all(height > 0 for height in heights), heights
    table = page.locator("table.usage-table")
    assert table.is_visible()
    assert (
        page.get_by_role("columnheader", name="Rate limit").count() == 1
        or page.viewport_size["width"] < 640
    )  # on a phone the header row is visually hidden, cells carry data-label
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"horizontal overflow of {overflow}px"
    body, label = page.evaluate(
        """() => [getComputedStyle(document.body).fontSize, getComputedStyle(
                    document.querySelector('.apikeys-outcomes-chart text')).fontSize]"""
    )
    assert body == label  # labels at body size
    width = chart.bounding_box()["width"]
    content = page.locator("main").bounding_box()["width"]
    assert width >= content * 0.9  # the chart spans the content width


def test_usage_page_at_laptop_and_phone_width_and_the_key_page(
    page: Any, screenshot: Any, acme: Any
) -> None:
    login(page, "owner")
    page.set_viewport_size(LAPTOP)
    page.goto(reverse("django_apikeys:usage", args=[acme.pk]) + "?period=7d")
    check_chart_and_table(page)
    assert page.get_by_role("heading", name="Top keys").is_visible()
    assert page.locator("table.top-keys").get_by_text("key_revoked").count() == 1
    screenshot("10-usage")

    page.get_by_label("Period").select_option("24h")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"period=24h"))
    check_chart_and_table(page)
    assert page.locator("figure.apikeys-outcomes-chart g.bar").count() == 24

    page.set_viewport_size(PHONE)
    page.goto(reverse("django_apikeys:usage", args=[acme.pk]) + "?period=30d")
    check_chart_and_table(page)
    screenshot("22-usage-phone-full")
    page.screenshot(path=str(SCREENSHOTS / "22-usage-phone.png"))  # the first screen

    page.set_viewport_size(LAPTOP)
    page.goto(reverse("django_apikeys:key_list", args=[acme.pk]))
    page.get_by_role("link", name="Usage Production backend").click()
    page.wait_for_url(re.compile(r"/usage/"))
    page.goto(page.url + "?period=7d")
    check_chart_and_table(page)
    assert page.get_by_role("heading", name="Usage of Production backend").is_visible()
    assert page.locator("table.refusal-codes").get_by_text("rate_limited").count() == 1
    screenshot("23-key-usage")
