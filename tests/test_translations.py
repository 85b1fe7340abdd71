"""The shipped catalogues are complete and compiled.

* every string marked for translation in django_apikeys (found by running
  ``makemessages`` on a copy of the package) has a non-empty, non-fuzzy
  translation in each shipped ``django.po``;
* each ``django.mo`` holds exactly what its ``django.po`` says (``make messages``
  was run after the last edit);
* the dashboard renders in Spanish with ``LANGUAGE_CODE = "es"``.
"""

from __future__ import annotations

import ast
import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import django_apikeys
from tests.needs import missing

ROOT = Path(__file__).resolve().parents[1]
#: The package that runs: the source tree, or the installed wheel under tox.
PACKAGE = Path(django_apikeys.__file__).resolve().parent
LOCALES = sorted(p.parent.parent.name for p in PACKAGE.glob("locale/*/LC_MESSAGES/django.po"))


Key = tuple[str | None, str, str | None]


def parse_po(path: Path) -> dict[Key, tuple[list[str], bool]]:
    """``{(msgctxt, msgid, msgid_plural): ([msgstr...], fuzzy)}`` without the header."""
    entries: dict[Key, tuple[list[str], bool]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith("#") or not line.strip():
                continue
            elif line.startswith('"'):
                fields[current] += ast.literal_eval(line)  # type: ignore[index]
            else:
                current, _, value = line.partition(" ")
                fields[current] = ast.literal_eval(value)
        if "msgid" not in fields or fields["msgid"] == "":
            continue
        key = (fields.get("msgctxt"), fields["msgid"], fields.get("msgid_plural"))
        strings = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
        entries[key] = (strings, fuzzy)
    return entries


def test_there_is_a_spanish_catalogue():
    assert "es" in LOCALES


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_has_no_empty_or_fuzzy_entry(locale):
    entries = parse_po(PACKAGE / "locale" / locale / "LC_MESSAGES" / "django.po")
    untranslated = [key for key, (strings, _) in entries.items() if not all(strings)]
    fuzzy = [key for key, (_, is_fuzzy) in entries.items() if is_fuzzy]
    assert not untranslated, f"untranslated in {locale}: {untranslated}"
    assert not fuzzy, f"fuzzy in {locale}: {fuzzy}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_marked_string_is_translated(locale, tmp_path):
    if shutil.which("xgettext") is None:
        missing("gettext is not installed (apt-get install gettext)")
    copy = tmp_path / "django_apikeys"
    shutil.copytree(
        PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "locale", "static")
    )
    (copy / "locale").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", locale, "--no-location"],
        cwd=copy,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(map(str, [ROOT, ROOT / "example_project"])),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    marked = parse_po(copy / "locale" / locale / "LC_MESSAGES" / "django.po")
    shipped = parse_po(PACKAGE / "locale" / locale / "LC_MESSAGES" / "django.po")
    missing_ = sorted(key for key in marked if key not in shipped)
    assert not missing_, (
        f"{len(missing_)} marked string(s) have no {locale} translation; run `make messages` "
        f"and translate them: {missing_[:20]}"
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches_the_po(locale):
    folder = PACKAGE / "locale" / locale / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for (context, msgid, plural), (strings, _) in parse_po(folder / "django.po").items():
        if context is not None:
            msgid = f"{context}\x04{msgid}"
        if plural is None:
            expected[msgid] = strings[0]
        else:
            expected.update({(msgid, index): value for index, value in enumerate(strings)})
    compiled = {k: v for k, v in compiled.items() if k != ""}
    assert compiled == expected, "django.mo is out of date: run `make messages`"


@pytest.mark.django_db
def test_dashboard_in_spanish(client, settings):
    from django.contrib.auth import get_user_model
    from example.profiles import endpoint_key_types

    assert endpoint_key_types.LANGUAGE_CODE == "es"  # the Spanish-language profile
    settings.LANGUAGE_CODE = "es"
    user = get_user_model().objects.create_user("ana", password="x")
    client.force_login(user)
    page = client.get("/apikeys/", follow=True).content.decode()
    assert "Panel de claves de API" in page
    assert "Cerrar sesión" in page
    refused = client.get("/api/v1/me", HTTP_X_API_KEY="nope", follow=True)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "Clave de API no válida."
