"""The example project served by an ASGI server (uvicorn, ``example.asgi``)
beside the gunicorn servers of the live harness, on the same PostgreSQL
database and Redis: a key request, a refusal, a dashboard page and the rate
limit behave as under WSGI."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.needs import missing

from .conftest import VENV_BIN, Live, _free_port, _stop, _wait_for

pytestmark = pytest.mark.live

ME = "/api/v1/me"


@pytest.fixture(scope="module")
def asgi(live: Live) -> Iterator[Live]:
    uvicorn = VENV_BIN / "uvicorn"
    if not uvicorn.exists() and shutil.which("uvicorn") is None:
        missing("live ASGI tests need uvicorn (pip install 'uvicorn>=0.30')")
    port = _free_port()
    log = open(live.tmp / "uvicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            str(uvicorn) if uvicorn.exists() else "uvicorn",
            "example.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--no-access-log",
        ],
        cwd=live.tmp,
        env=live.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Live(servers=[f"http://127.0.0.1:{port}"], env=live.env, tmp=live.tmp)
    try:
        try:
            _wait_for(lambda: server.request(0, ME).status == 401, "uvicorn")
        except RuntimeError as exc:
            tail = (live.tmp / "uvicorn.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{exc}\n{tail}") from None
        yield server
    finally:
        _stop(process)
        log.close()


def test_key_request_and_refusal(asgi: Live) -> None:
    key = asgi.helper("make-key")
    ok = asgi.request(0, ME, raw_key=key["raw"])
    assert ok.status == 200, ok.body[:500]
    assert ok.json()["organization"] == key["org"]
    refused = asgi.request(0, ME, raw_key="sk_" + "x" * 30)
    assert refused.status == 401
    assert refused.json()["code"] in {"invalid_key", "not_authenticated"}
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    missing_ = asgi.request(0, ME)
    assert (missing_.status, missing_.json()["code"]) == (401, "not_authenticated")


def test_dashboard_page_logged_in(asgi: Live) -> None:
    password = "asgi-password-123"
    asgi.helper("superuser", password)
    session = asgi.session()
    page = asgi.request(0, "/accounts/login/", opener=session)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert token, page.body[:500]
    data = urlencode(
        {
            "csrfmiddlewaretoken": token.group(1).decode(),
            "username": "live-admin",
            "password": password,
        }
    ).encode()
    login = asgi.request(0, "/accounts/login/", opener=session, data=data)
    assert login.status == 302, login.body[:500]
    dashboard = asgi.request(0, "/apikeys/", opener=session)
    assert dashboard.status == 200, dashboard.body[:500]
    assert b"live-admin" in dashboard.body


def test_rate_limit_as_under_wsgi(live: Live, asgi: Live) -> None:
    def run(server: Live, index: int) -> list[tuple[int, str | None, str | None]]:
        key = server.helper("make-key", "--per-minute", "3")
        replies = [server.request(index, ME, raw_key=key["raw"]) for _ in range(4)]
        return [
            (
                r.status,
                r.headers.get("X-RateLimit-Limit"),
                r.json().get("code") if r.status != 200 else None,
            )
            for r in replies
        ]

    under_asgi = run(asgi, 0)
    assert under_asgi == run(live, 0)  # gunicorn (WSGI)
    assert [status for status, _, _ in under_asgi] == [200, 200, 200, 429]
    assert under_asgi[-1] == (429, "3", "rate_limited")
