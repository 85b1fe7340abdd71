"""The dashboard's 403 page costs a fixed number of queries, however many
members the organization has (who can grant is read in one query)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import MembershipFactory, OrganizationFactory, role

pytestmark = pytest.mark.django_db


def queries_for_403(client, members: int) -> int:
    org = OrganizationFactory()
    MembershipFactory(organization=org, role=role("Owner"))
    for _ in range(members):
        MembershipFactory(organization=org, role=role("Manager"))
    editor = MembershipFactory(organization=org, role=role("Editor"))
    client.force_login(editor.user)
    url = reverse("django_apikeys:member_list", args=[org.pk])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 403
    assert len(response.context["granters"]) == members + 1
    return len(ctx.captured_queries)


def test_the_403_page_does_not_query_per_member(client):
    assert queries_for_403(client, 2) == queries_for_403(client, 25)
