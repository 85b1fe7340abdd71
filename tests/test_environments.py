"""Environment labels on keys (seed 004: "different API keys for different
environments"): the service validates them, the dashboard offers, lists and
filters them, the admin lists and filters them, createapikey sets them and a
roll keeps them."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from django_apikeys import services
from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, UserFactory, make_key

pytestmark = pytest.mark.django_db

ENVIRONMENTS = ["development", "staging", "production"]


@pytest.fixture
def environments(settings):
    settings.APIKEYS = {"ENVIRONMENTS": ENVIRONMENTS}


@pytest.fixture
def owner():
    return MembershipFactory()


def test_service_accepts_configured_labels_and_refuses_others(environments, owner):
    api_key, _ = make_key(owner.organization, environment="staging")
    assert api_key.environment == "staging"
    unlabelled, _ = make_key(owner.organization)
    assert unlabelled.environment == ""
    with pytest.raises(ValidationError) as exc:
        make_key(owner.organization, environment="qa")
    assert exc.value.error_dict["environment"][0].code == "invalid_environment"


def test_without_configured_environments_no_label_is_accepted(owner):
    with pytest.raises(ValidationError) as exc:
        make_key(owner.organization, environment="production")
    assert exc.value.error_dict["environment"][0].code == "invalid_environment"


def test_roll_keeps_the_environment(environments, owner):
    api_key, _ = make_key(owner.organization, environment="production")
    new, _ = services.roll_key(api_key)
    assert new.environment == "production"


def _create(client, org, **data):
    url = reverse("django_apikeys:key_create", args=[org.pk]) + "?type=server"
    token = client.get(url).context["form"]["form_token"].value()
    payload = {"key_type": "server", "form_token": token, "expiry": "never", "scopes": ["*"]}
    return client.post(url, {**payload, **data})


def test_dashboard_create_list_and_filter(environments, owner, client):
    org = owner.organization
    client.force_login(owner.user)
    form = client.get(reverse("django_apikeys:key_create", args=[org.pk])).context["form"]
    assert [value for value, _ in form.fields["environment"].choices] == ["", *ENVIRONMENTS]
    for name, environment in (("Prod", "production"), ("Dev", "development"), ("Misc", "")):
        response = _create(client, org, name=name, environment=environment)
        assert response.status_code == 200 and response.context["raw_key"]
        assert APIKey.objects.get(name=name).environment == environment
    bad = _create(client, org, name="QA", environment="qa")
    assert "environment" in bad.context["form"].errors
    assert not APIKey.objects.filter(name="QA").exists()
    listing = reverse("django_apikeys:key_list", args=[org.pk])
    page = client.get(listing)
    assert ">Environment<" in page.content.decode()
    assert {k.name for k in page.context["api_keys"]} == {"Prod", "Dev", "Misc"}
    filtered = client.get(listing, {"environment": "production"})
    assert [k.name for k in filtered.context["api_keys"]] == ["Prod"]
    # An unknown filter value means no filter, not an error.
    unknown = client.get(listing, {"environment": "<script>"})
    assert unknown.status_code == 200 and len(unknown.context["api_keys"]) == 3


def test_dashboard_hides_environments_when_none_are_configured(owner, client):
    client.force_login(owner.user)
    org = owner.organization
    form = client.get(reverse("django_apikeys:key_create", args=[org.pk])).context["form"]
    assert "environment" not in form.fields
    make_key(org)
    page = client.get(reverse("django_apikeys:key_list", args=[org.pk])).content.decode()
    assert ">Environment<" not in page


def test_admin_lists_filters_and_creates_with_environment(environments, client, owner):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    make_key(owner.organization, name="Prod", environment="production")
    make_key(owner.organization, name="Dev", environment="development")
    changelist = reverse("admin:django_apikeys_apikey_changelist")
    response = client.get(changelist, {"environment": "production"})
    assert response.status_code == 200
    assert [k.name for k in response.context["cl"].result_list] == ["Prod"]
    response = client.post(
        reverse("admin:django_apikeys_apikey_add"),
        {
            "organization": str(owner.organization.pk),
            "key_type": "server",
            "name": "Staging",
            "scopes": "*",
            "rate_limit_per_minute": "0",
            "rate_limit_per_day": "0",
            "allowed_origins": "[]",
            "environment": "staging",
        },
    )
    assert response.status_code == 200
    assert APIKey.objects.get(name="Staging").environment == "staging"


def test_createapikey_environment_option(environments, owner):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "createapikey",
        owner.organization.slug,
        "server",
        "CI",
        "--environment",
        "development",
        "--scope",
        "*",
        stdout=out,
        stderr=err,
    )
    assert APIKey.objects.get(name="CI").environment == "development"
    with pytest.raises(CommandError, match="Unknown environment"):
        call_command(
            "createapikey",
            owner.organization.slug,
            "server",
            "QA",
            "--environment",
            "qa",
            "--scope",
            "*",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
