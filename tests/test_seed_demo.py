"""``seed_demo`` (what ``make demo`` runs) twice: nothing is duplicated, and the
quick-start key is replaced, not multiplied, with the output saying so."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from example.api.management.commands.seed_demo import QUICK_START
from example.api.models import Client

from django_apikeys import services
from django_apikeys.models import APIKey, AuditEvent, Membership, Organization

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


def seed() -> tuple[str, str]:
    """Run the command; return its output and the raw key of its curl line."""
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    match = re.search(r"Authorization: Bearer (\S+?)\"", text)
    assert match, text
    return text, match.group(1)


def counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "organizations": Organization.objects.count(),
        "memberships": Membership.objects.count(),
        "clients": Client.objects.count(),
        "keys other than quick start": APIKey.objects.exclude(name=QUICK_START).count(),
    }


def quick_start_keys():
    return APIKey.objects.filter(name=QUICK_START)


def test_running_twice_rolls_the_one_quick_start_key(api_client):
    first_output, first_raw = seed()
    assert "Try the API with a fresh key (shown once)" in first_output
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {first_raw}").status_code == 200
    before = counts()
    first_key = quick_start_keys().get()

    second_output, second_raw = seed()
    assert counts() == before
    assert second_raw != first_raw
    assert quick_start_keys().active().count() == 1
    replacement = quick_start_keys().active().get()
    assert replacement.replaces_id == first_key.pk
    # Said, with the old key's hint only (never its raw value).
    assert f"quick-start key of an earlier run ({first_key.hint})" in second_output
    assert "rolled and no longer works" in second_output
    assert first_raw not in second_output
    # The printed key works; the old one stopped at once.
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {second_raw}").status_code == 200
    old = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {first_raw}")
    assert old.status_code == 401
    assert old.json()["code"] in {"key_revoked", "key_expired"}
    assert AuditEvent.objects.filter(action=AuditEvent.Action.KEY_ROLLED).count() == 1

    seed()
    assert counts() == before
    assert quick_start_keys().active().count() == 1


def test_extra_quick_start_keys_of_older_runs_are_revoked():
    """Databases seeded before this fix hold one quick-start key per run."""
    seed()
    organization = quick_start_keys().get().organization
    for _ in range(2):
        services.create_key(
            organization=organization,
            key_type=quick_start_keys().first().key_type,
            name=QUICK_START,
            scopes=["*"],
        )
    assert quick_start_keys().active().count() == 3
    seed()
    assert quick_start_keys().active().count() == 1


def test_the_demo_starts_with_weeks_of_usage_admitted_and_refused(client):
    """The usage page's first look shows what it is for: a month of traffic."""
    from django.urls import reverse

    from django_apikeys.metering import ADMITTED
    from django_apikeys.models import UsageOutcome, UsageRecord

    seed()
    acme = Organization.objects.get(slug="acme")
    outcomes = UsageOutcome.objects.filter(organization=acme)
    days = {hour.date() for hour in outcomes.values_list("hour", flat=True)}
    assert len(days) >= 29
    assert outcomes.filter(outcome=ADMITTED).count() > 100
    refused = set(outcomes.exclude(outcome=ADMITTED).values_list("outcome", flat=True))
    assert {"rate_limited", "invalid_key", "insufficient_scope"} <= refused
    assert UsageRecord.objects.filter(organization=acme).count() >= 20
    before = outcomes.count()
    seed()
    assert outcomes.count() == before  # written once
    client.force_login(get_user_model().objects.get(username="owner"))
    page = client.get(reverse("django_apikeys:usage", kwargs={"org_id": acme.pk}))
    assert page.status_code == 200
    assert "rate_limited" in page.content.decode() or "Rate limited" in page.content.decode()
