"""The cross-process harness: real Redis, a separate PostgreSQL database, two gunicorn servers.

Started once per session by the ``live`` fixture and stopped (by PID) in its
finalizer. Skips (fails under ``make test`` and CI, see :mod:`tests.needs`)
unless ``DATABASE_URL`` is PostgreSQL (``make test`` runs the suite under
``scripts/with-postgres.sh``) and ``redis-server`` and ``gunicorn`` are
installed. Every wait is bounded.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.needs import missing

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(check: Any, what: str, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s (last error: {last!r})")


def _stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Live:
    """Handles on the running harness."""

    servers: list[str]
    env: dict[str, str]
    tmp: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *args: str) -> str:
        """Run a Python process in the live environment; return its standard output."""
        result = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        return result.stdout.decode()

    def helper(self, *args: str) -> dict[str, Any]:
        """Run ``tests.live.helper`` against the live database; return its JSON."""
        return json.loads(self.run("-m", "tests.live.helper", *args))  # type: ignore[no-any-return]

    def manage(self, *args: str) -> str:
        return self.run(str(ROOT / "example_project" / "manage.py"), *args)

    def request(
        self,
        server: int,
        path: str,
        *,
        raw_key: str | None = None,
        opener: urllib.request.OpenerDirector | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        request = urllib.request.Request(self.servers[server] + path, data=data)
        if raw_key is not None:
            request.add_header("Authorization", f"Bearer {raw_key}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        open_ = (opener or urllib.request.build_opener(_NoRedirect)).open
        try:
            with open_(request, timeout=REQUEST_TIMEOUT) as reply:
                return Response(reply.status, dict(reply.headers), reply.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, dict(error.headers), error.read())

    def session(self) -> urllib.request.OpenerDirector:
        """An opener that keeps cookies (for the admin) and does not follow redirects."""
        jar = http.cookiejar.CookieJar()
        return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _skip_reason() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        return "live tests need DATABASE_URL=postgres://... (run under scripts/with-postgres.sh)"
    if shutil.which("redis-server") is None:
        return "live tests need redis-server"
    if not (VENV_BIN / "gunicorn").exists() and shutil.which("gunicorn") is None:
        return "live tests need gunicorn"
    return None


def _admin_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


@pytest.fixture(scope="session")
def live() -> Iterator[Live]:
    reason = _skip_reason()
    if reason:
        missing(reason)
    import psycopg
    import redis

    base_url = os.environ["DATABASE_URL"]
    database = f"apikeys_live_{uuid.uuid4().hex[:12]}"
    tmp = Path(tempfile.mkdtemp(prefix="apikeys-live-"))
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []
    created_db = False
    try:
        redis_port = _free_port()
        redis_log = open(tmp / "redis.log", "wb")  # noqa: SIM115 - closed in the finalizer
        logs.append(redis_log)
        processes.append(
            subprocess.Popen(
                [
                    shutil.which("redis-server") or "redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(redis_port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(tmp),
                ],
                stdout=redis_log,
                stderr=subprocess.STDOUT,
            )
        )
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        client = redis.Redis.from_url(redis_url, socket_timeout=1)
        _wait_for(client.ping, "redis-server")
        client.close()

        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        created_db = True
        env = {
            **os.environ,
            "DATABASE_URL": _admin_url(base_url, database),
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "tests.live.settings_live",
            "DJANGO_DEBUG": "0",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
            # Where test_secret_scanning_live serves the scanner's public keys.
            "APIKEYS_LIVE_SCANNING_PORT": str(_free_port()),
        }
        live = Live(servers=[], env=env, tmp=tmp, processes=processes)
        live.manage("migrate", "--noinput", "-v", "0")

        gunicorn = str(VENV_BIN / "gunicorn") if (VENV_BIN / "gunicorn").exists() else "gunicorn"
        for number in range(2):
            port = _free_port()
            log = open(tmp / f"gunicorn-{number}.log", "wb")  # noqa: SIM115
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [
                        gunicorn,
                        "example.wsgi:application",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "2",
                        "--worker-class",
                        "sync",
                        "--timeout",
                        "30",
                        "--graceful-timeout",
                        "5",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            live.servers.append(f"http://127.0.0.1:{port}")
        for number in range(2):
            try:
                _wait_for(
                    lambda n=number: live.request(n, "/api/v1/me").status == 401,
                    f"gunicorn server {number}",
                )
            except RuntimeError as exc:
                log_tail = (tmp / f"gunicorn-{number}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{exc}\n{log_tail}") from None
        yield live
    finally:
        for process in reversed(processes):
            _stop(process)
        for log in logs:
            log.close()
        if created_db:
            with psycopg.connect(base_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)
