"""The fault harness: a real Redis (with an RDB snapshot to restart from), one
gunicorn server (2 worker processes) running the example project on a SQLite
file, and handles to break Redis for real: kill -9, restart from the snapshot,
SIGSTOP / SIGCONT. Every process is started here and stopped by its PID in
the finalizer; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.live.conftest import ROOT, VENV_BIN, Live, Response, _free_port, _stop, _wait_for


@dataclass
class Faults(Live):
    """:class:`tests.live.conftest.Live` plus a Redis the tests may break."""

    redis_port: int = 0
    redis: subprocess.Popen[bytes] | None = None
    logs: list[Any] = field(default_factory=list)

    def helper(self, *args: str) -> dict[str, Any]:
        """Run ``tests.faults.helper`` against the fault database; return its JSON."""
        return json.loads(self.run("-m", "tests.faults.helper", *args))  # type: ignore[no-any-return]

    # -- Redis ---------------------------------------------------------------

    def start_redis(self) -> None:
        log = open(self.tmp / "redis.log", "ab")  # noqa: SIM115 - closed in the finalizer
        self.logs.append(log)
        self.redis = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
                "--dbfilename",
                "dump.rdb",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(self.redis)
        _wait_for(lambda: self.redis_client().ping(), "redis-server")

    def redis_client(self) -> Any:
        import redis

        return redis.Redis(port=self.redis_port, socket_timeout=1, socket_connect_timeout=1)

    def snapshot_and_kill_redis(self) -> None:
        """Write the RDB snapshot (as a periodic ``save`` would), then ``kill -9``."""
        client = self.redis_client()
        client.save()
        client.close()
        assert self.redis is not None
        self.redis.kill()
        self.redis.wait(timeout=10)

    def kill_redis(self) -> None:
        assert self.redis is not None
        self.redis.kill()
        self.redis.wait(timeout=10)

    def redis_keys(self, pattern: str) -> list[bytes]:
        client = self.redis_client()
        try:
            return list(client.scan_iter(pattern))
        finally:
            client.close()

    # -- HTTP ------------------------------------------------------------------

    def timed(self, path: str, **kwargs: Any) -> tuple[Response, float]:
        started = time.monotonic()
        response = self.request(0, path, **kwargs)
        return response, time.monotonic() - started

    def login(self, username: str, password: str) -> Any:
        opener = self.session()
        response = self.submit(
            opener, "/accounts/login/", {"username": username, "password": password}
        )
        assert response.status == 302, response.body[:500]
        return opener

    def submit(self, opener: Any, path: str, fields: dict[str, str]) -> Response:
        """GET ``path`` for its CSRF token, then POST ``fields`` to it."""
        page = self.request(0, path, opener=opener)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        assert token, page.body[:500]
        data = urlencode({"csrfmiddlewaretoken": token.group(1).decode(), **fields}).encode()
        return self.request(0, path, opener=opener, data=data)


@pytest.fixture(scope="module")
def faults() -> Iterator[Faults]:
    if shutil.which("redis-server") is None:  # pragma: no cover - installed on CI and dev
        pytest.fail("the fault tests need redis-server")
    tmp = Path(tempfile.mkdtemp(prefix="apikeys-faults-"))
    redis_port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'faults.sqlite3'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DJANGO_SETTINGS_MODULE": "tests.faults.settings_faults",
        "DJANGO_DEBUG": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
    }
    harness = Faults(servers=[], env=env, tmp=tmp, redis_port=redis_port)
    try:
        harness.start_redis()
        harness.manage("migrate", "--noinput", "-v", "0")
        port = _free_port()
        log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115 - closed in the finalizer
        harness.logs.append(log)
        gunicorn = str(VENV_BIN / "gunicorn") if (VENV_BIN / "gunicorn").exists() else "gunicorn"
        harness.processes.append(
            subprocess.Popen(
                [
                    gunicorn,
                    "example.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
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
        harness.servers.append(f"http://127.0.0.1:{port}")
        try:
            _wait_for(lambda: harness.request(0, "/api/v1/me").status == 401, "gunicorn")
        except RuntimeError as exc:
            tail = (tmp / "gunicorn.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{exc}\n{tail}") from None
        yield harness
    finally:
        for process in reversed(harness.processes):
            if process.poll() is None:
                try:
                    process.send_signal(signal.SIGCONT)  # a stopped Redis cannot handle SIGTERM
                except ProcessLookupError:
                    pass
            _stop(process)
        for log in harness.logs:
            log.close()
        if os.environ.get("FAULTS_KEEP_LOGS"):
            print(f"fault harness logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
