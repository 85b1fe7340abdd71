"""The project speaks to its users: docs, docstrings, templates and the example
project name reference designs by their profile names and never carry the
labels of the work that made them ("seed 000", "issue 10"); history belongs in
the changelog, by version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: "issue 10" is a label of this project's work; "redis-py issue #3624" cites
#: another project's tracker (with its ``#``) and stays.
LABEL = re.compile(r"\bseeds?[ _-]?0\d\d\b|\bseed \d\b|\bissues? \d+\b", re.IGNORECASE)
SOURCES = {
    "django_apikeys": ("*.py", "*.html", "*.txt", "*.rst"),
    "example_project": ("*.py", "*.html", "*.rst"),
    "docs": ("*.rst", "*.py"),
}


def _files() -> list[Path]:
    files = [ROOT / "README.rst"]
    for folder, patterns in SOURCES.items():
        for pattern in patterns:
            files.extend(p for p in (ROOT / folder).rglob(pattern) if "_build" not in p.parts)
    return sorted(set(files))


def test_the_sources_are_found() -> None:
    names = {p.name for p in _files()}
    assert {"README.rst", "quickstart.rst", "authentication.py", "base.html"} <= names


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(ROOT)))
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
