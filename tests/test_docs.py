"""Docs stay true to the code: every setting and check id is documented."""

from __future__ import annotations

import re
from pathlib import Path

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
