"""What to do when a test's service (Chromium, Redis, PostgreSQL) is missing.

``make test-fast`` (and a plain ``pytest`` on a laptop) may skip such tests.
``make test`` sets ``APIKEYS_TESTS_STRICT=1`` and CI sets ``CI``: there a
missing service is a failure with a one-line reason, so a run in which part
of the suite did not run is never green. ``APIKEYS_TESTS_STRICT=0`` allows
skipping even under CI (``make test-fast`` sets it).

It is also a pytest plugin (``-p tests.needs`` in ``addopts``): when strict,
a run in which any test was skipped fails, and says which.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def strict() -> bool:
    """True when every test must run (``make test``, CI)."""
    flag = os.environ.get("APIKEYS_TESTS_STRICT")
    if flag is not None:
        return flag not in ("", "0")
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def missing(reason: str) -> NoReturn:
    """Skip the test for ``reason``; fail it (one line, no traceback) when strict."""
    if strict():
        pytest.fail(f"not run: {reason}", pytrace=False)
    pytest.skip(reason)


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail") and strict():
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """``make test`` and CI: a skipped test fails the run (see tests/needs.py)."""
    if _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: object) -> None:
    if _skipped:
        write = terminalreporter.write_line  # type: ignore[attr-defined]
        write(f"FAILED: {len(_skipped)} test(s) did not run (strict: make test / CI):")
        for nodeid in _skipped:
            write(f"  {nodeid}")
