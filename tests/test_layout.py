"""The layout stays honest: imports inside functions only where they break a
cycle (and a comment says so), and no "stage N" / "seed 000" in the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import django_apikeys

PACKAGE = Path(django_apikeys.__file__).resolve().parent
#: (module, function) pairs whose package imports break an import cycle.
CYCLE_BREAKERS = {
    ("apps.py", "ready"),  # models are not loaded when the app config is
    ("cors/apps.py", "ready"),  # the same for the optional CORS app
    ("managers.py", "create_key"),  # services -> models -> managers
    ("scopes.py", "_actions"),  # conf -> scopes
}


def _sources() -> list[Path]:
    # The optional parts merged last (the management API and its OpenAPI
    # extension, importing drf-spectacular lazily; OAuth) are not reviewed
    # here yet: docs/architecture.rst says so.
    optional = {"api", "openapi.py", "oauth"}
    return [
        p
        for p in PACKAGE.rglob("*.py")
        if "migrations" not in p.parts and not optional & set(p.relative_to(PACKAGE).parts)
    ]


def _lazy_package_imports() -> set[tuple[str, str]]:
    found = set()
    for path in _sources():
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and (
                    node.level > 0 or (node.module or "").startswith("django_apikeys")
                ):
                    found.add((str(path.relative_to(PACKAGE)), func.name))
    return found


def test_imports_inside_functions_only_break_cycles():
    assert _lazy_package_imports() == CYCLE_BREAKERS


def test_each_cycle_breaker_says_why():
    for module, function in CYCLE_BREAKERS:
        source = (PACKAGE / module).read_text()
        body = source[source.index(f"def {function}(") :]
        head = body[: body.index("import ")]
        assert "#" in head or "Imported here" in head, (module, function)


def test_comments_name_what_a_stage_is():
    pattern = re.compile(r"\bstages? \d|\bseed \d{3}", re.IGNORECASE)
    offenders = [str(p) for p in _sources() if pattern.search(p.read_text())]
    assert offenders == []
