"""``seed_demo`` prints an OAuth walkthrough that works as printed."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from .conftest import pkce_pair

pytestmark = pytest.mark.django_db


def test_seed_demo_walkthrough_obtains_a_token_and_calls_clients(api_client):
    out = io.StringIO()
    call_command("seed_demo", "--host", "http://testserver", stdout=out)
    text = out.getvalue()
    assert "authorization code + PKCE" in text
    authorize = re.search(r'echo "http://testserver(/api/auth/oauth2/authorize\?[^"]+)"', text)
    token_line = re.search(r"curl -s http://testserver/api/auth/oauth2/token (.+)", text)
    assert authorize and token_line
    verifier, challenge = pkce_pair()
    url = authorize.group(1).replace("$CHALLENGE", challenge)

    browser = Client()
    browser.force_login(get_user_model().objects.get(username="owner"))
    page = browser.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields if name != "allow"}
    choice = page.context["organization_choices"][0]
    assert choice["organization"].name == "Acme Corp"
    data.update(organization=str(choice["organization"].pk), allow="Authorize")
    callback = browser.post(url, data)
    code = parse_qs(urlsplit(callback["Location"]).query)["code"][0]

    fields = dict(re.findall(r'-d (\w+)=("?[^" ]+"?)', token_line.group(1)))
    fields["code"], fields["code_verifier"] = code, verifier
    token = Client().post("/api/auth/oauth2/token", fields)
    assert token.status_code == 200, token.content
    access = token.json()["access_token"]
    response = api_client.get("/api/v1/clients", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200
    assert {c["name"] for c in response.json()} >= {"Initech", "Umbrella", "Hooli"}
    # idempotent: a second run reuses the demo app
    call_command("seed_demo", "--host", "http://testserver", stdout=io.StringIO())
