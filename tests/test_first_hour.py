"""A new site's first hour, on a site shaped like the README's quick start
(``tests/first_hour_urls.py``: the admin's login, no ``logout`` URL of its own,
the dashboard and one view with ``scope_resource = "clients"``)."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from django_apikeys.vocabulary import site_vocabulary, view_scopes
from tests.factories import MembershipFactory, bearer, make_key, role

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_site(settings):
    settings.ROOT_URLCONF = "tests.first_hour_urls"
    settings.LOGIN_URL = "admin:login"
    settings.LOGOUT_REDIRECT_URL = None
    return settings


@pytest.fixture
def owner():
    return MembershipFactory(role=role("Owner"))


def test_the_views_scopes_are_the_sites_vocabulary(new_site):
    assert view_scopes() == ("clients:read", "clients:write")
    new_site.APIKEYS = {"SCOPE_VOCABULARY": ["invoices:read"]}
    assert site_vocabulary() == ["invoices:read", "clients:read", "clients:write"]


def test_the_scope_grid_offers_the_quick_starts_resource_not_the_reference_roles(
    new_site, client, owner
):
    client.force_login(owner.user)
    url = reverse("django_apikeys:key_create", kwargs={"org_id": owner.organization.pk})
    form = client.get(url + "?type=server").context["form"]
    offered = {value for value, _label in form.fields["scopes"].choices}
    assert {"clients:read", "clients:write"} <= offered
    # The reference roles' resources are not this site's API.
    assert not {"billing", "offers", "products"} & {s.partition(":")[0] for s in offered}


def test_without_any_scope_named_the_grid_falls_back_to_the_roles(settings, client, owner):
    settings.ROOT_URLCONF = "tests.first_hour_no_api_urls"
    client.force_login(owner.user)
    url = reverse("django_apikeys:key_create", kwargs={"org_id": owner.organization.pk})
    form = client.get(url + "?type=server").context["form"]
    offered = {value.partition(":")[0] for value, _label in form.fields["scopes"].choices}
    assert "products" in offered


def test_log_out_link_on_a_site_without_a_logout_url(new_site, client, owner):
    client.force_login(owner.user)
    page = client.get(reverse("django_apikeys:organization_list")).content.decode()
    logout = reverse("django_apikeys:logout")
    assert f'action="{logout}"' in page and "Log out" in page
    assert client.get(logout).status_code == 405  # POST only, as Django's LogoutView
    response = client.post(logout)
    assert response.status_code == 302
    assert response["Location"] == reverse("django_apikeys:organization_list")
    assert SESSION_KEY not in client.session
    # Signed out: the dashboard sends the visitor to the sign-in page.
    assert reverse("admin:login") in client.get(response["Location"])["Location"]


def test_a_sites_own_logout_url_is_preferred(client, owner):
    """The example project names one (``accounts/logout/``): the header uses it."""
    client.force_login(owner.user)
    page = client.get(reverse("django_apikeys:organization_list")).content.decode()
    assert f'action="{reverse("logout")}"' in page


def test_logout_redirects_to_logout_redirect_url(new_site, client, owner):
    new_site.LOGOUT_REDIRECT_URL = "/bye/"
    client.force_login(owner.user)
    assert client.post(reverse("django_apikeys:logout"))["Location"] == "/bye/"


def test_a_signed_in_session_on_a_key_only_view_is_told_so(new_site, client, owner):
    client.force_login(owner.user)
    response = client.get("/clients")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "wrong_key_type"
    assert "session cannot use it" in body["detail"]
    assert "type of API key" not in body["detail"]
    # A key of the wrong type still hears about its type.
    _key, raw = make_key(owner.organization, "publishable", scopes=["clients:read"])
    refused = client.get("/clients", **bearer(raw)).json()
    assert refused["detail"] == "This type of API key cannot be used on this endpoint."


def test_every_dashboard_page_has_an_icon(client, owner):
    client.force_login(owner.user)
    page = client.get(reverse("django_apikeys:organization_list")).content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page
    assert client.get("/favicon.ico").status_code == 302
