"""Tenant guards: implausible references are 403 not 500, and the URL's
organization is checked at authentication for every view."""

from __future__ import annotations

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.factories import MembershipFactory, OrganizationFactory, bearer, make_key

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


# --- tenancy -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", " ", "\x00", "a\x00b", "not a slug!", "x" * 500])
def test_implausible_organization_reference_is_403_not_500(client, value):
    membership = MembershipFactory()
    client.force_login(membership.user)
    response = client.get("/api/v1/clients", HTTP_X_ORGANIZATION=value)
    assert response.status_code == 403
    assert response.json()["code"] == "organization_mismatch"


def test_nul_in_url_organization_is_not_a_500(client):
    membership = MembershipFactory()
    client.force_login(membership.user)
    response = client.get("/api/v1/orgs/%00/invoices")
    assert response.status_code in (403, 404)


class PlainOrgView(APIView):
    """A view that filters by the URL's organization but lists no IDOR guard."""

    def get(self, request, org_id):
        return Response({"org": org_id})


urlpatterns = [path("plain/<str:org_id>/", PlainOrgView.as_view())]


@pytest.mark.urls(__name__)
def test_url_organization_is_checked_for_every_view(api_client):
    api_key, raw = make_key()
    mine = api_client.get(f"/plain/{api_key.organization.pk}/", **bearer(raw))
    assert mine.status_code == 200
    theirs = api_client.get(f"/plain/{OrganizationFactory().pk}/", **bearer(raw))
    assert (theirs.status_code, theirs.json()["code"]) == (403, "organization_mismatch")


def test_session_user_organization_on_me(client):
    membership = MembershipFactory()
    client.force_login(membership.user)
    response = client.get(ME, HTTP_X_ORGANIZATION=membership.organization.slug)
    assert response.json()["organization"] == str(membership.organization.pk)
