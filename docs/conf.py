"""Sphinx configuration for django-apikeys."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

project = "django-apikeys"
author = "django-apikeys developers"
copyright = "2026, django-apikeys developers"
import django_apikeys  # noqa: E402

release = django_apikeys.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# The build runs offline: each mapping reads a committed inventory from
# docs/_inventories/ (where each came from: docs/_inventories/README.txt) while
# the links point at the real sites.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {
    "python": ("https://docs.python.org/3/", "_inventories/python.inv"),
    "django": ("https://docs.djangoproject.com/en/5.2/", "_inventories/django.inv"),
}
html_theme = "alabaster"
html_static_path = ["_static"]
exclude_patterns = ["_build"]
nitpicky = True
# Django REST framework publishes its docs with MkDocs, not Sphinx: there is no
# objects.inv to link its classes to, so references to them stay plain text.
nitpick_ignore_regex = [
    (r"py:.*", r"rest_framework(\..*)?"),
    # django-ratelimit's docs are on Read the Docs, and no inventory of them
    # is committed: one reference, left as plain text.
    (r"py:.*", r"django_ratelimit(\..*)?"),
    # Likewise drf-spectacular's, base of the OpenAPI integration.
    (r"py:.*", r"drf_spectacular(\..*)?"),
    # Type variables and private helpers seen in signatures have no page.
    (r"py:class", r"django_apikeys(\.\w+)*\._\w+"),
]
nitpick_ignore = [
    # The lifecycle functions' type variable, and the type of the
    # DEFAULT_EXPIRY sentinel (documented in the services).
    ("py:class", "django_apikeys.services.lifecycle.KeyT"),
    ("py:class", "django_apikeys.services.lifecycle.DefaultExpiry"),
    # Django documents its Redis cache backend as a setting, not as a class.
    ("py:class", "django.core.cache.backends.redis.RedisCache"),
    ("py:class", "django.core.cache.backends.redis.RedisCacheClient"),
    # Types named in signatures that live in parts outside the reference
    # (the scanning receiver, the OAuth server's models, tenancy internals).
    ("py:class", "OrganizationRef"),
    ("py:class", "LeakReport"),
    ("py:class", "LeakResult"),
    ("py:class", "OAuthGrant"),
]

# Annotations name classes where they are defined; the documentation of
# Django (and of this app) lists them under the name users import.
PUBLIC_NAMES = {
    "django.http.request.HttpRequest": "django.http.HttpRequest",
    "django.http.response.HttpResponse": "django.http.HttpResponse",
    "HttpRequest": "django.http.HttpRequest",
    "HttpResponse": "django.http.HttpResponse",
    "Credential": "django_apikeys.credentials.Credential",
    "APIKeyPrincipal": "django_apikeys.authentication.APIKeyPrincipal",
    "RedisCacheClient": "django_apikeys.cache_backends.RedisCacheClient",
}


def resolve_public_name(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a reference to a class by the public name it is documented under."""
    target = PUBLIC_NAMES.get(node.get("reftarget", ""))
    if node.get("refdomain") != "py" or target is None:
        return None
    node["reftarget"] = target
    builder = app.builder
    found = env.get_domain("py").resolve_xref(
        env, node["refdoc"], builder, node["reftype"], target, node, contnode
    )
    if found is None:
        from sphinx.ext.intersphinx import missing_reference

        found = missing_reference(app, env, node, contnode)
    return found


def is_error_class(obj: Any) -> bool:
    from django_apikeys import exceptions

    return (
        isinstance(obj, type)
        and issubclass(obj, exceptions.APIKeysError)
        and obj.__module__ == exceptions.__name__
    )


def keep_error_classes(
    app: Any, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    """Document every error class, docstring or not: its code is its contract."""
    return False if what == "module" and is_error_class(obj) else None


def add_error_code(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Append an error class's code and HTTP status, read from the class itself."""
    if is_error_class(obj) and "default_code" in vars(obj):
        lines.extend(["", f"Code ``{obj.default_code}``, HTTP {obj.status_code}."])


def setup(app: Any) -> None:
    app.connect("missing-reference", resolve_public_name)
    app.connect("autodoc-skip-member", keep_error_classes)
    app.connect("autodoc-process-docstring", add_error_code)
