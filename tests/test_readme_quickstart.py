"""The README's quick start is complete on its own and agrees with
``docs/quickstart.rst``: the settings it shows run, name importable classes,
include the ``AUTHENTICATION_BACKENDS`` entry ``has_perm`` needs, and the URLs
include the dashboard. ``test_quickstart_site.py`` runs both as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from django.urls import URLResolver
from django.utils.module_loading import import_string

ROOT = Path(__file__).resolve().parents[1]
ROLE_BACKEND = "django_apikeys.backends.OrganizationRoleBackend"


def python_blocks(text: str) -> list[str]:
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text)
    return [textwrap.dedent(block) for block in blocks]


def quick_start(path: Path) -> str:
    """The README's "Quick start" section; the whole of docs/quickstart.rst."""
    text = path.read_text()
    if path.name == "README.rst":
        match = re.search(r"^Quick start\n=+\n(.*?)^[^\n]+\n=+\n", text, re.M | re.S)
        assert match, "README.rst has no Quick start section"
        return match.group(1)
    return text


def settings_of(path: Path) -> dict:
    """Execute every Python block of the quick start that sets Django settings."""
    namespace: dict = {}
    for block in python_blocks(quick_start(path)):
        if "INSTALLED_APPS" in block or "REST_FRAMEWORK" in block:
            exec(block, namespace)  # noqa: S102 - our own documentation
    return namespace


def urlpatterns_of(path: Path) -> list:
    for block in python_blocks(quick_start(path)):
        if "urlpatterns" in block:
            namespace: dict = {"ClientList": _StubView}
            # The view comes from the site's views.py (run for real in test_quickstart_site).
            block = block.replace("from .views import ClientList\n", "")
            exec("from django.urls import include, path\n" + block, namespace)  # noqa: S102
            return [p for p in namespace["urlpatterns"] if p is not Ellipsis]
    raise AssertionError(f"{path.name}: no urlpatterns in the quick start")


class _StubView:
    @staticmethod
    def as_view():
        return lambda request: None


SOURCES = [ROOT / "README.rst", ROOT / "docs" / "quickstart.rst"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_quick_start_settings_are_complete(path):
    settings = settings_of(path)
    assert {"rest_framework", "django_apikeys"} <= set(settings["INSTALLED_APPS"])
    backends = settings["AUTHENTICATION_BACKENDS"]
    assert ROLE_BACKEND in backends
    assert "django.contrib.auth.backends.ModelBackend" in backends
    drf = settings["REST_FRAMEWORK"]
    assert drf["DEFAULT_AUTHENTICATION_CLASSES"][0] == (
        "django_apikeys.authentication.APIKeyAuthentication"
    )
    assert drf["EXCEPTION_HANDLER"] == "django_apikeys.exceptions.exception_handler"
    assert settings["LOGIN_URL"]
    for dotted in [*backends, *drf["DEFAULT_AUTHENTICATION_CLASSES"], drf["EXCEPTION_HANDLER"]]:
        import_string(dotted)
    for dotted in drf.get("DEFAULT_PERMISSION_CLASSES", []) + drf.get(
        "DEFAULT_THROTTLE_CLASSES", []
    ):
        import_string(dotted)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_quick_start_includes_the_dashboard(path):
    patterns = urlpatterns_of(path)
    dashboards = [
        p for p in patterns if isinstance(p, URLResolver) and p.app_name == "django_apikeys"
    ]
    assert len(dashboards) == 1
    assert str(dashboards[0].pattern) == "apikeys/"


def test_readme_and_docs_agree():
    readme, docs = (settings_of(path) for path in SOURCES)
    for name in ("AUTHENTICATION_BACKENDS", "LOGIN_URL"):
        assert readme[name] == docs[name], name
    assert readme["REST_FRAMEWORK"] == docs["REST_FRAMEWORK"]


def test_the_role_backend_answers_has_perm(db):
    """What the AUTHENTICATION_BACKENDS entry is for: ``has_perm`` with an organization."""
    from django.test import override_settings

    from tests.factories import MembershipFactory, role

    membership = MembershipFactory(role=role("Manager"))
    user, org = membership.user, membership.organization
    with override_settings(
        AUTHENTICATION_BACKENDS=settings_of(SOURCES[0])["AUTHENTICATION_BACKENDS"]
    ):
        assert user.has_perm("organization.manage_api_keys", org)
        assert not user.has_perm("organization.delete_organization", org)
    with override_settings(AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"]):
        assert not user.has_perm("organization.manage_api_keys", org)
