"""Every public name the docs mention (roles such as ``:class:``, literals,
imports and dotted paths in examples) is importable from the package."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

import django_apikeys

DOCS = Path(__file__).resolve().parent.parent / "docs"
README = DOCS.parent / "README.rst"

#: Dotted strings in the docs that are not Python names: system-check ids,
#: django-ratelimit groups, and ``oauth``, which profiles.rst names as the
#: part still to come.
NOT_NAMES = re.compile(r"django_apikeys\.([EWI]\d{3}|key|organization|oauth)$")
DOTTED = re.compile(r"\bdjango_apikeys(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
FROM_IMPORT = re.compile(
    r"^\s*from (django_apikeys(?:\.\w+)*) import \(?([\w ,\n]+?)\)?\s*$", re.MULTILINE
)


def _documents() -> list[Path]:
    return [*sorted(DOCS.glob("*.rst")), README]


def _names() -> set[str]:
    names: set[str] = set()
    for path in _documents():
        text = path.read_text()
        names.update(m.group(0) for m in DOTTED.finditer(text))
        for module, imported in FROM_IMPORT.findall(text):
            names.update(f"{module}.{n.strip()}" for n in imported.split(",") if n.strip())
    return {n for n in names if not NOT_NAMES.match(n)}


def resolve(dotted: str) -> Any:
    """Import the longest module prefix of ``dotted``, then get the attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_the_docs_name_many_things():
    names = _names()
    assert len(names) > 20
    assert "django_apikeys.authentication.APIKeyAuthentication" in names


@pytest.mark.parametrize("name", sorted(_names()))
def test_every_documented_name_is_importable(name):
    assert resolve(name) is not None


def test_the_resolver_refuses_what_does_not_exist():
    with pytest.raises(AttributeError):
        resolve("django_apikeys.keys.no_such_function")
    assert resolve("django_apikeys") is django_apikeys
