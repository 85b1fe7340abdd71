"""``make test`` and CI are never green when part of the suite did not run:
with Chromium or Redis or PostgreSQL missing, the tests that need them fail
with a one-line reason; ``make test-fast`` (``APIKEYS_TESTS_STRICT=0``) skips.

Each case runs pytest in a child process with the service really missing
(the browser path points nowhere; ``redis-server`` is not on ``PATH``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Each case starts a pytest process: they run with the live-server tests.
pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parent.parent
BROWSER_TEST = (
    "tests/browser/test_dashboard_browser.py::test_editor_creates_and_revokes_their_own_key"
)
LIVE_TEST = "tests/live/test_cross_process.py::test_revocation_from_a_command_process"


def run_pytest(node: str, marker: str, **env: str) -> subprocess.CompletedProcess[str]:
    # The parent's strictness and database must not leak into the child.
    cleared = ("CI", "APIKEYS_TESTS_STRICT", "DATABASE_URL")
    environment = {k: v for k, v in os.environ.items() if k not in cleared}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml")]
        + ["--rootdir", str(ROOT), "-m", marker, node],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_chromium_a_ci_run_fails_with_one_line():
    result = run_pytest(
        BROWSER_TEST, "browser", APIKEYS_CHROMIUM="/nonexistent/chromium", CI="true"
    )
    assert result.returncode != 0, result.stdout
    assert (
        "not run: /nonexistent/chromium not installed (apt-get install chromium)" in result.stdout
    )
    assert "Traceback" not in result.stdout


def test_without_chromium_make_test_fast_may_skip():
    result = run_pytest(
        BROWSER_TEST,
        "browser",
        APIKEYS_CHROMIUM="/nonexistent/chromium",
        APIKEYS_TESTS_STRICT="0",
        CI="true",
    )
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout


def test_without_redis_the_live_tests_fail_when_strict(tmp_path):
    # A PATH with the interpreter's directory but no redis-server on it.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    result = run_pytest(
        LIVE_TEST,
        "live",
        APIKEYS_TESTS_STRICT="1",
        PATH=f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}",
        DATABASE_URL="postgres://nobody@127.0.0.1:9/none",
    )
    assert result.returncode != 0, result.stdout
    assert "not run: live tests need redis-server" in result.stdout


def test_without_postgresql_the_live_tests_fail_when_strict():
    result = run_pytest(LIVE_TEST, "live", APIKEYS_TESTS_STRICT="1")  # DATABASE_URL unset
    assert result.returncode != 0, result.stdout
    assert "not run: live tests need DATABASE_URL=postgres://" in result.stdout


def test_any_skip_fails_a_strict_run(tmp_path):
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\ndef test_skipped():\n    pytest.skip('no reason')\n"
    )
    node = str(tmp_path / "test_skips.py")
    strict = run_pytest(node, "", APIKEYS_TESTS_STRICT="1")
    assert strict.returncode != 0, strict.stdout
    assert "did not run (strict" in strict.stdout
    assert run_pytest(node, "", APIKEYS_TESTS_STRICT="0").returncode == 0
