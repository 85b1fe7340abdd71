"""The README's quick start and ``docs/quickstart.rst`` run *as written* in a
new ``django-admin startproject`` site (not the example project), and agree.

Each Python block is put where its first line says (``# settings.py``,
``# views.py``, ``# urls.py``); a ``...`` in a list stands for what
``startproject`` wrote there. Each ``$ python manage.py`` line runs as printed
(``createsuperuser`` non-interactively; ``runserver`` is replaced by what its
comment tells the reader to do: create the organization in the dashboard);
the ``curl`` line is sent through Django's test client with the key
``createapikey`` printed and must get the JSON the quick start shows.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_readme_quickstart import SOURCES, python_blocks, quick_start

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "quick-start-password"

#: Run inside the new site (DJANGO_SETTINGS_MODULE=mysite.settings): the steps
#: a reader does in the browser, and what the test checks there.
DRIVER = """
import json, sys
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
from django.contrib.auth import get_user_model
from django.urls import reverse

setup_test_environment()  # the test client's "testserver" host
step, arg = sys.argv[1], json.loads(sys.argv[2])
client = Client()
admin = get_user_model().objects.get(username="admin")
out = {}
if step == "organization":
    client.force_login(admin)
    response = client.post(
        reverse("django_apikeys:organization_create"), {"name": arg["slug"], "slug": arg["slug"]}
    )
    out["status"] = response.status_code
elif step == "check":
    response = client.get(arg["path"], HTTP_AUTHORIZATION=arg["authorization"])
    out["with_key"] = [response.status_code, response.content.decode()]
    out["without_key"] = client.get(arg["path"]).status_code
    client.force_login(admin)
    session = client.get(arg["path"])
    out["session"] = [session.status_code, session.json()]
    from django_apikeys.models import Organization
    org = Organization.objects.get(slug=arg["slug"])
    form = client.get(
        reverse("django_apikeys:key_create", kwargs={"org_id": org.pk}) + "?type=server"
    ).context["form"]
    out["grid"] = sorted(value for value, _label in form.fields["scopes"].choices)
    page = client.get(reverse("django_apikeys:organization_list")).content.decode()
    logout = reverse("django_apikeys:logout")
    out["logout_link"] = f'action="{logout}"' in page
    out["logout"] = client.post(logout).status_code
    out["after_logout"] = client.get(reverse("django_apikeys:organization_list")).status_code
print(json.dumps(out))
"""


def _fill_ellipsis(block: str) -> str:
    """``NAME = [..., x]`` / a ``...,`` or ``# ...`` line in ``NAME = [``: keep what is there."""
    block = re.sub(r"^(\w+) = \[\.\.\.,", r"\1 = [*\1,", block, flags=re.M)
    lines, current = [], None
    for line in block.splitlines():
        opener = re.match(r"^(\w+) = \[$", line)
        if opener:
            current = opener.group(1)
        if current and re.fullmatch(r"\s*(\.\.\.,|# \.\.\.)\s*", line):
            line = re.sub(r"(\.\.\.,|# \.\.\.)", f"*{current},", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def _console_lines(text: str) -> list[str]:
    blocks = re.findall(r"\.\. code-block:: console\n\n((?:   .*\n|\n)+)", text)
    return [
        line[2:]
        for block in blocks
        for line in textwrap.dedent(block).splitlines()
        if line.startswith("$ ")
    ]


def _output_after(text: str, command: str) -> str:
    """The line a console block shows right after ``$ command``."""
    match = re.search(re.escape(command) + r"\n   ([^$\n][^\n]*)\n", text)
    return match.group(1) if match else ""


def _run(args: list[str], site: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=site, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{shlex.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _build_site(text: str, site: Path, env: dict[str, str]) -> None:
    _run([sys.executable, "-m", "django", "startproject", "mysite", str(site)], site.parent, env)
    package = site / "mysite"
    placed = set()
    for block in python_blocks(text):
        target = block.splitlines()[0].strip()
        if target in ("# settings.py", "# urls.py"):
            path = package / target[2:]
            path.write_text(path.read_text() + "\n" + _fill_ellipsis(block))
        elif target == "# views.py":
            (package / "views.py").write_text(block)
        else:
            continue
        placed.add(target)
    assert placed == {"# settings.py", "# views.py", "# urls.py"}, placed
    (site / "driver.py").write_text(DRIVER)


def _steps(text: str, site: Path, env: dict[str, str]) -> dict:
    """Run the console lines as printed; return what the driver saw."""
    py = sys.executable
    key = slug = curl = None
    for line in _console_lines(text):
        words = shlex.split(line, comments=True)
        if words[:2] == ["python", "manage.py"]:
            command = words[2]
            if command == "createsuperuser":
                words += ["--noinput", "--username", "admin", "--email", "admin@example.com"]
            if command == "runserver":
                continue  # the reader goes to /apikeys/ instead (below)
            if command == "createapikey":
                # What the runserver line's comment says: create it in the dashboard.
                slug = words[3]
                step = [py, "driver.py", "organization", json.dumps({"slug": slug})]
                created = json.loads(_run(step, site, env))
                assert created["status"] == 302, created
            stdout = _run([py, *words[1:]], site, env)
            if command == "createapikey":
                key = stdout.strip()
        elif words[0] == "curl" and curl is None and "Authorization: Bearer" in line:
            curl = words
    assert key and slug and curl, (key, slug, curl)
    header = curl[curl.index("-H") + 1]
    url = curl[-1]
    bearer = header.split(": ", 1)[1]
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    authorization = re.sub(r"\S+\.\.\.\S*", key, bearer)  # the shown key, abridged
    check = {"path": path, "authorization": authorization, "slug": slug}
    seen = json.loads(_run([py, "driver.py", "check", json.dumps(check)], site, env))
    seen["shown_output"] = _output_after(text, shlex.join(curl).replace("'", '"'))
    seen["key"] = key
    return seen


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_the_quick_start_runs_as_written_in_a_new_site(source, tmp_path):
    text = quick_start(source)
    site = tmp_path / "site"
    site.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{site}",
        "DJANGO_SETTINGS_MODULE": "mysite.settings",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }
    env.pop("DATABASE_URL", None)
    _build_site(text, site, env)
    seen = _steps(text, site, env)
    status, body = seen["with_key"]
    assert status == 200, body
    assert json.loads(body) == {"organization": "acme", "clients": []}
    assert json.loads(seen["shown_output"]) == json.loads(body)  # what the reader is shown
    assert seen["without_key"] == 401
    status, refusal = seen["session"]
    assert status == 403 and "session cannot use it" in refusal["detail"]
    assert {"clients:read", "clients:write"} <= set(seen["grid"])
    assert seen["logout_link"] and seen["logout"] == 302
    assert seen["after_logout"] == 302  # signed out: the dashboard asks to sign in


def _block(text: str, target: str) -> str:
    return next(b for b in python_blocks(text) if b.startswith(target))


def test_readme_and_docs_show_the_same_site():
    readme, docs = (quick_start(path) for path in SOURCES)
    for target in ("# views.py", "# urls.py"):
        assert _block(readme, target) == _block(docs, target), target

    def commands(text: str) -> list[str]:
        lines = [re.sub(r"\s+#.*", "", line) for line in _console_lines(text)]
        return [line for line in lines if "manage.py" in line or "Bearer" in line]

    assert commands(readme) == commands(docs)
