"""The project speaks to its users: docs, docstrings, templates and the example
project name reference designs by their profile names and never carry the
labels of the work that made them ("seed 000", "issue 10"); history belongs in
the changelog, by version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import django_apikeys

ROOT = Path(__file__).resolve().parent.parent
#: "issue 10" is a label of this project's work; "redis-py issue #3624" cites
#: another project's tracker (with its ``#``) and stays.
LABEL = re.compile(r"\bseeds?[ _-]?0\d\d\b|\bseed \d\b|\bissues? \d+\b", re.IGNORECASE)
#: The package that runs (the source tree, or the installed wheel under tox),
#: and the folders of the checkout that travel with the suite.
SOURCES = {
    Path(django_apikeys.__file__).resolve().parent: ("*.py", "*.html", "*.txt", "*.rst"),
    ROOT / "example_project": ("*.py", "*.html", "*.rst"),
    ROOT / "docs": ("*.rst", "*.py"),
}


def _files() -> list[Path]:
    files = [ROOT / "README.rst"]
    for folder, patterns in SOURCES.items():
        for pattern in patterns:
            files.extend(p for p in folder.rglob(pattern) if "_build" not in p.parts)
    return sorted(set(files))


def test_the_sources_are_found() -> None:
    names = {p.name for p in _files()}
    assert {"README.rst", "quickstart.rst", "authentication.py", "base.html"} <= names


def _name(path: Path) -> str:
    for base in (ROOT, Path(django_apikeys.__file__).resolve().parent.parent):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return str(path)


@pytest.mark.parametrize("path", _files(), ids=_name)
def test_no_internal_labels(path: Path) -> None:
    found = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if LABEL.search(line)
    ]
    assert not found, "name reference designs by their profile names:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "text", ["seed 000", "Seed 002's paths", "issue 10", "issues 20", "seeds 003"]
)
def test_the_pattern_catches_labels(text: str) -> None:
    assert LABEL.search(text)


@pytest.mark.parametrize(
    "text", ["seed_demo", "seeded usage", "an issue with the key", "redis-py issue #3624"]
)
def test_the_pattern_leaves_prose_alone(text: str) -> None:
    assert not LABEL.search(text)
