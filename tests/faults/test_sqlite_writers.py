"""SQLite (the embedded default) under 8 concurrent writers: no "database is
locked", no 500. Runs in its own process on a SQLite file with the example
project's database options (immediate transactions, busy timeout, WAL)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import django
import pytest

from tests.live.conftest import ROOT


@pytest.mark.live  # a minute of real contention: not in make test-fast
@pytest.mark.skipif(django.VERSION < (5, 1), reason="immediate transactions need Django 5.1")
def test_eight_concurrent_writers_on_sqlite_never_fail() -> None:
    with tempfile.TemporaryDirectory(prefix="apikeys-sqlite-") as tmp:
        result = subprocess.run(
            [sys.executable, "-m", "tests.faults.sqlite_writers", str(Path(tmp) / "w.sqlite3")],
            cwd=ROOT,
            capture_output=True,
            timeout=300,
            check=False,
            env={"PYTHONPATH": f"{ROOT}:{ROOT / 'example_project'}", "PATH": "/usr/bin:/bin"},
        )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    measured = json.loads(result.stdout)
    print(f"\n[faults] SQLite, 8 concurrent writers: {measured}")
    assert measured["alive"] == 0
    assert measured["dashboard_rolls"] == 24 and measured["dashboard_5xx"] == 0
    assert measured["dashboard_statuses"] == [200]
    assert measured["service_error_count"] == 0, measured["service_errors"]
    assert measured["service_iterations"] == 120
