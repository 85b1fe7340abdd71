"""The version matrix that is claimed is the matrix that is run.

pyproject.toml's classifiers and lower bounds, tox.ini's environments and the
boundaries ``make test-compat`` runs must agree, and the version lives in one
place (``django_apikeys.__version__``).
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import tomllib

import django_apikeys

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def _claimed(prefix: str) -> set[str]:
    classifiers = _pyproject()["project"]["classifiers"]  # type: ignore[index]
    return {
        c.removeprefix(prefix)
        for c in classifiers  # type: ignore[union-attr]
        if c.startswith(prefix) and re.fullmatch(r"\d+\.\d+", c.removeprefix(prefix))
    }


def _expand(pattern: str) -> list[str]:
    """tox's brace expansion: ``py{311,312}-django52`` -> two names."""
    match = re.search(r"\{([^}]*)\}", pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [name for part in match.group(1).split(",") for name in _expand(head + part + tail)]


def _tox_envs() -> list[tuple[str, str, str]]:
    """(python, django, drf) factors of every environment in tox.ini's envlist."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "tox.ini")
    envs: list[tuple[str, str, str]] = []
    for line in parser["tox"]["envlist"].split():
        for name in _expand(line):
            factors = re.fullmatch(r"py(\d+)-django(\d+)-drf(\d+)", name)
            assert factors is not None, name
            envs.append(factors.groups())  # type: ignore[arg-type]
    return envs


def _dotted(factor: str) -> str:
    return f"{factor[0]}.{factor[1:]}"


def test_tox_runs_exactly_the_claimed_python_and_django_versions() -> None:
    envs = _tox_envs()
    assert {_dotted(py) for py, _, _ in envs} == _claimed("Programming Language :: Python :: ")
    assert {_dotted(dj) for _, dj, _ in envs} == _claimed("Framework :: Django :: ")


def test_lower_bounds_are_the_lowest_versions_tested() -> None:
    project = _pyproject()["project"]
    deps = dict(re.match(r"([\w-]+)>=([\d.]+)", d).groups() for d in project["dependencies"])  # type: ignore[union-attr, index, misc]
    envs = _tox_envs()
    assert deps["Django"] == min((_dotted(dj) for _, dj, _ in envs), key=_version)
    assert deps["djangorestframework"] == min((_dotted(d) for _, _, d in envs), key=_version)
    lowest_python = min((_dotted(py) for py, _, _ in envs), key=_version)
    assert project["requires-python"] == f">={lowest_python}"  # type: ignore[index]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_make_test_runs_the_boundaries_of_the_matrix() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = set(re.search(r"tox .*?-e (\S+)", makefile).group(1).split(","))  # type: ignore[union-attr]
    envs = _tox_envs()
    low = min(envs, key=lambda e: tuple(_version(_dotted(x)) for x in e))
    high = max(envs, key=lambda e: tuple(_version(_dotted(x)) for x in e))
    as_name = {f"py{py}-django{dj}-drf{drf}" for py, dj, drf in (low, high)}
    assert run == as_name


def test_the_version_lives_in_one_place() -> None:
    project = _pyproject()
    assert "version" not in project["project"]  # type: ignore[operator]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {  # type: ignore[index]
        "attr": "django_apikeys.__version__"
    }
    conf = (ROOT / "docs" / "conf.py").read_text()
    assert django_apikeys.__version__ not in conf
    assert "django_apikeys.__version__" in conf
