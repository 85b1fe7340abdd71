"""The committed schema, ``example_project/openapi.yaml``, is the example
project's schema now: a change to the API shows in review as a change to
that file. Regenerate with ``make openapi``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "example_project" / "openapi.yaml"


def generate(tmp_path: Path) -> str:
    out = tmp_path / "openapi.yaml"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(out),
        ],
        cwd=ROOT / "example_project",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return out.read_text()


def test_committed_schema_is_up_to_date(tmp_path):
    current = generate(tmp_path)
    assert SNAPSHOT.read_text() == current, (
        "example_project/openapi.yaml is out of date: run `make openapi` and commit it."
    )


def test_snapshot_is_openapi_3_1_with_the_key_schemes():
    text = SNAPSHOT.read_text()
    assert text.startswith("openapi: 3.1.0")
    assert "APIKeyBearer:" in text and "APIKeyHeader:" in text
    assert "/api/manage/organizations/{org_id}/keys/:" in text
