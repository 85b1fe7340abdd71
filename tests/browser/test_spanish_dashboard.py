"""The dashboard in Spanish (``LANGUAGE_CODE = "es"``, as the
endpoint_key_types profile) in a real Chromium: log in, the key list, create
a key."""

from __future__ import annotations

import re

import pytest

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key, role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles_each_test"),
]


def test_owner_uses_the_dashboard_in_spanish(page, screenshot, settings):
    settings.LANGUAGE_CODE = "es"
    org = OrganizationFactory(name="Tienda", slug="tienda")
    owner = MembershipFactory(
        organization=org, user=UserFactory(username="ana"), role=role("Owner")
    )
    make_key(org, "server", name="Backend", created_by=owner.user)

    page.goto("/apikeys/")
    page.get_by_label("Nombre de usuario").fill("ana")
    page.get_by_label("Contraseña").fill("pw")
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(re.compile(r"/apikeys/"))
    assert page.locator("html").get_attribute("lang") in {"es", None}
    page.get_by_role("link", name="Tienda").first.click()
    page.wait_for_url(f"**/apikeys/{org.pk}/")
    page.get_by_role("navigation", name="Organización").get_by_role(
        "link", name="Claves de API", exact=True
    ).click()
    page.wait_for_url("**/keys/")
    page.get_by_role("heading", name="Claves de API", exact=True).wait_for()
    assert page.get_by_text("Claves de API de esta organización").count() == 1
    assert page.get_by_role("link", name="Revocar Backend").count() == 1
    screenshot("es-01-key-list")

    page.get_by_role("link", name="Crear una clave de API").first.click()
    page.wait_for_url("**/keys/new/")
    page.get_by_label(re.compile("^Nombre")).first.fill("Producción")
    page.get_by_label("Otros ámbitos").fill("clients:read")
    page.get_by_role("button", name=re.compile("Crear clave")).click()
    page.get_by_role("alert").get_by_text("Es la única vez que se muestra la clave.").wait_for()
    assert re.fullmatch(r"sk_[A-Za-z0-9]{32}_[0-9a-f]{8}", page.locator("#raw-key").input_value())
    screenshot("es-02-show-once")
    body = page.locator("body").inner_text()
    for english in ("API keys", "Log out", "Create an API key", "Revoke"):
        assert english not in body, english
