"""Docs stay true to the code: every setting and check id is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from django_apikeys import checks
from django_apikeys.conf import DEFAULTS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented():
    text = (DOCS / "settings.rst").read_text()
    missing = [name for name in DEFAULTS if f"``{name}``" not in text]
    assert not missing


def test_every_check_id_is_documented():
    source = Path(checks.__file__).read_text()
    ids = set(re.findall(r"django_apikeys\.[EW]\d{3}", source))
    text = (DOCS / "checks.rst").read_text()
    assert ids and all(f"``{i}``" in text for i in ids)


def test_every_error_code_is_documented():
    from django_apikeys import exceptions

    codes = {
        obj.default_code
        for obj in vars(exceptions).values()
        if isinstance(obj, type)
        and issubclass(obj, exceptions.APIKeysError)
        and obj.__module__ == exceptions.__name__
        and hasattr(obj, "default_code")
    }
    text = (DOCS / "errors.rst").read_text()
    assert {c for c in codes if f"``{c}``" not in text} == set()


def _conf_values() -> dict[str, Any]:
    """The literal assignments of docs/conf.py, read without running it."""
    values: dict[str, Any] = {}
    for node in ast.parse((DOCS / "conf.py").read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and getattr(node, "value", None) is not None:
            try:
                values[target.id] = ast.literal_eval(node.value)  # type: ignore[attr-defined]
            except ValueError:
                pass
    return values


def test_docs_build_is_nitpicky():
    assert _conf_values()["nitpicky"] is True


def test_intersphinx_reads_committed_inventories():
    mapping = _conf_values()["intersphinx_mapping"]
    assert {"python", "django"} <= set(mapping)
    for url, inventory in mapping.values():
        assert url.startswith("https://") and url.endswith("/")
        # A local file: the build runs offline and never fetches an inventory.
        assert inventory and (DOCS / inventory).is_file(), inventory
        assert (DOCS / inventory).read_bytes().startswith(b"# Sphinx inventory version 2")


def test_api_reference_is_in_the_toctree():
    assert re.search(r"^   reference$", (DOCS / "index.rst").read_text(), re.MULTILINE)


def test_every_error_class_is_in_the_api_reference():
    from django_apikeys import exceptions

    names = {
        name
        for name, obj in vars(exceptions).items()
        if isinstance(obj, type)
        and issubclass(obj, exceptions.APIKeysError)
        and obj.__module__ == exceptions.__name__
    }
    text = (DOCS / "reference.rst").read_text()
    assert names and {n for n in names if not re.search(rf"\b{n}\b", text)} == set()
