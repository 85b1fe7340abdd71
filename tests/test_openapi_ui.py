"""The example project serves its schema, Swagger UI and ReDoc, with the
assets of drf-spectacular-sidecar: nothing from a CDN."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_ui_pages_load_their_assets_from_the_site(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assets = [u for u in urls if u.endswith((".js", ".css", ".png"))]
    assert assets, html
    for url in assets:
        assert url.startswith("/static/drf_spectacular_sidecar/"), url
        assert finders.find(url.removeprefix("/static/")), url
    assert "cdn" not in html.lower() and "//unpkg" not in html


def test_schema_endpoint_serves_json_and_yaml(client):
    as_json = client.get("/api/schema/?format=json")
    assert as_json.status_code == 200
    assert as_json.json()["openapi"] == "3.1.0"
    assert "/api/manage/organizations/" in as_json.json()["paths"]
    assert "/api/v1/clients" in as_json.json()["paths"]
    as_yaml = client.get("/api/schema/")
    assert as_yaml.status_code == 200 and as_yaml.content.startswith(b"openapi: 3.1.0")
