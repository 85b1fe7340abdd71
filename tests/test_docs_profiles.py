"""``docs/profiles.rst`` is true to the tests: every behaviour marked as
working names a test (``file::test``) that exists and runs under that row's
profile (a collected test id of that function names the profile), and the
counts the page states are the counts of its tables."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "profiles.rst"
HEADING = re.compile(r"^``(\w+)``: .* \(``example\.profiles\.(\w+)``\)$")
TEST = re.compile(r"^``(\w+)::(\w+)``$")


def rows() -> list[tuple[str, list[str]]]:
    """(profile, [behaviour, how, test, status]) for every table row."""
    found: list[tuple[str, list[str]]] = []
    profile = None
    cells: list[str] | None = None
    for line in DOC.read_text().splitlines():
        heading = HEADING.match(line)
        if heading:
            assert heading.group(1) == heading.group(2), line
            profile = heading.group(1)
            continue
        if line.startswith("   * - "):
            if cells is not None and profile is not None:
                found.append((profile, cells))
            cells = [line[len("   * - ") :].strip()]
        elif line.startswith("     - ") and cells is not None:
            cells.append(line[len("     - ") :].strip())
        elif not line.strip() and cells is not None and len(cells) == 4:
            if profile is not None:
                found.append((profile, cells))
            cells = None
    if cells is not None and profile is not None:
        found.append((profile, cells))
    return [(p, c) for p, c in found if c[0] != "Behaviour (the document)"]


def collected(files: set[str]) -> list[str]:
    """The test ids pytest collects from ``files`` (under ``tests/``)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + [f"tests/{name}.py" for name in sorted(files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_the_page_has_a_table_per_profile():
    from tests.test_profiles import PROFILES

    profiles = {p for p, _ in rows()}
    assert profiles == {module.rsplit(".", 1)[-1] for module in PROFILES[1:]}
    assert all(len(cells) == 4 for _, cells in rows())


def test_every_working_row_names_a_test_run_under_its_profile():
    working = [(p, c) for p, c in rows() if c[3].startswith("works")]
    assert len(working) > 90
    cited = {}
    for profile, (behaviour, _how, test, _status) in working:
        match = TEST.match(test)
        assert match, f"{profile}: {behaviour!r} names no test: {test!r}"
        cited[(profile, behaviour)] = match.groups()
    ids = collected({file for file, _name in cited.values()})
    missing = []
    for (profile, behaviour), (file, name) in cited.items():
        prefix = f"tests/{file}.py::{name}["
        runs = [i for i in ids if i.startswith(prefix)]
        if not any(profile in i[len(prefix) : -1].split("-") for i in runs):
            missing.append(f"{profile}: {behaviour} -> {file}::{name}")
    assert not missing, "\n".join(missing)


def test_the_stated_counts_are_the_tables_counts():
    text = DOC.read_text()
    all_rows = rows()
    working = [r for r in all_rows if r[1][3].startswith("works")]
    new = [r for r in all_rows if "(new)" in r[1][3]]
    summary = re.search(r"Of \*\*(\d+)\*\* behaviours, \*\*(\d+)\*\*\s+work", text)
    assert summary and (int(summary[1]), int(summary[2])) == (len(all_rows), len(working))
    assert re.search(rf"\({len(new)} of them new in this release\)", text)
    for profile in {p for p, _ in all_rows}:
        mine = [c for p, c in all_rows if p == profile]
        ok = sum(1 for c in mine if c[3].startswith("works"))
        section = text.split(f"``{profile}``: ", 1)[1]
        assert f"{ok} of {len(mine)} behaviours work as the document says." in section[:400]


@pytest.mark.parametrize("word", ["Seed 00", "seed 00", "OAuth issue"])
def test_no_internal_labels_or_stale_rows(word):
    assert word not in DOC.read_text()
