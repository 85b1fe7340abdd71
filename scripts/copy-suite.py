"""Copy the test suite (not the package) to a directory, for tox.

tox installs the built wheel and runs the copy, so that ``import
django_apikeys`` finds the installed package and never ``./django_apikeys``
(tests/conftest.py checks that when ``APIKEYS_TESTS_INSTALLED`` is set).

Usage: python scripts/copy-suite.py SOURCE_TREE DESTINATION
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

COPIED = [
    "tests",
    "example_project",
    "docs",
    "pyproject.toml",
    "tox.ini",
    "Makefile",
    "README.rst",
    "CHANGELOG.rst",
]
IGNORED = shutil.ignore_patterns("__pycache__", "_build", "*.sqlite3")


def main(source: Path, destination: Path) -> None:
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    for name in COPIED:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, destination / name, ignore=IGNORED)
        else:
            shutil.copy2(path, destination / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
