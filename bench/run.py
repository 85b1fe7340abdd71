"""Measure authentication on a trivial DRF view, every contender in one run.

Usage (``bench/run.sh`` calls it once per database)::

    python -m bench.run --database sqlite --out bench/results/sqlite.json
    scripts/with-postgres.sh python -m bench.run --database postgresql --scale ...

In-process, requests go through Django's full WSGI handler (middleware, URL
resolver, DRF view). Contenders run **interleaved round-robin**: each round
runs one batch per contender, in an order rotated every round, so drifts in
machine speed hit every contender alike. The overhead of a contender is the
median over rounds of its batch time minus the no-auth batch time of the
same round. Queries and writes are counted on every timed request through a
``connection.execute_wrapper`` (the same few-hundred-nanosecond cost for
every query of every contender).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import io
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KEY_CACHE_SECONDS = 3600  # contender (f): longer than the whole run


@dataclass
class Contender:
    id: str
    label: str
    path: str
    headers: list[str]  # Authorization values; cycled request by request
    key_cache: bool = False
    counters: bool = False  # django-apikeys' limits and metering on (contender g)
    #: APIKEYS overrides for this contender alone (in-process only: the HTTP
    #: servers run the defaults, so such contenders are not served over HTTP).
    apikeys: dict[str, Any] = field(default_factory=dict)
    expect: int = 200
    kind: str = "success"  # "success" or "rejection"
    samples: list[float] = field(default_factory=list)  # µs per request, per round
    queries: int = 0
    writes: int = 0
    outbox: int = 0  # reads of the invalidation outbox's mark (at most 1/s per process)
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


def contenders(creds: Any, has_throttling: bool, bad_keys: list[str]) -> list[Contender]:
    c = [
        Contender("a", "no authentication", "/none", [""]),
        Contender("b", "DRF TokenAuthentication", "/drf-token", [f"Token {creds.drf_token}"]),
        Contender(
            "b-throttle",
            "DRF TokenAuthentication + UserRateThrottle (same Redis)",
            "/drf-token-throttled",
            [f"Token {creds.drf_token}"],
        ),
        Contender(
            "c",
            "djangorestframework-api-key HasAPIKey",
            "/drf-api-key",
            [f"Api-Key {creds.drf_api_key}"],
        ),
        Contender("d", "django-rest-knox", "/knox", [f"Token {creds.knox}"]),
        Contender(
            "e", "django-apikeys, cache off", "/apikeys", [f"Bearer {creds.apikeys_server}"]
        ),
        Contender(
            "e-user",
            "django-apikeys user key, cache off",
            "/apikeys",
            [f"Bearer {creds.apikeys_user}"],
        ),
        Contender(
            "e-pub",
            "django-apikeys publishable key, cache off",
            "/apikeys",
            [f"Bearer {creds.apikeys_publishable}"],
        ),
        Contender(
            "e-plain",
            "django-apikeys, cache off, lookup not prepared (PREPARE_KEY_LOOKUP off)",
            "/apikeys",
            [f"Bearer {creds.apikeys_server}"],
            apikeys={"PREPARE_KEY_LOOKUP": False},
        ),
        Contender(
            "f",
            "django-apikeys, lookup cache on",
            "/apikeys",
            [f"Bearer {creds.apikeys_server}"],
            key_cache=True,
        ),
        Contender(
            "f-redis",
            "django-apikeys, lookup cache on, no in-process tier (one MGET)",
            "/apikeys",
            [f"Bearer {creds.apikeys_server}"],
            key_cache=True,
            apikeys={"KEY_CACHE_LOCAL_ENTRIES": 0},
        ),
    ]
    if creds.apikeys_member:  # member-scoped user keys, where the package has them
        # The organization acted on named in the URL: its home one (no extra
        # query), then another of its owner's (one membership query).
        at = [x.id for x in c].index("e-user") + 1
        c[at:at] = [
            Contender(
                "e-member",
                "django-apikeys member-scoped user key, home organization, cache off",
                f"/apikeys/{creds.home_organization}",
                [f"Bearer {creds.apikeys_member}"],
            ),
            Contender(
                "e-member-other",
                "django-apikeys member-scoped user key, another organization of its "
                "owner's, cache off",
                f"/apikeys/{creds.second_organization}",
                [f"Bearer {creds.apikeys_member}"],
            ),
        ]
    if has_throttling:
        c.append(
            Contender(
                "g",
                "django-apikeys, per-key and per-organization limits + metering, cache on",
                "/apikeys-throttled",
                [f"Bearer {creds.apikeys_server}"],
                key_cache=True,
                counters=True,
            )
        )
    c += [
        Contender(
            "h",
            "OAuth JWT (django_apikeys.oauth), cache off",
            "/oauth-jwt",
            [f"Bearer {creds.oauth_jwt}"],
        ),
        Contender(
            "h-cache",
            "OAuth JWT (django_apikeys.oauth), lookup cache on",
            "/oauth-jwt",
            [f"Bearer {creds.oauth_jwt}"],
            key_cache=True,
        ),
        Contender(
            "i",
            "django-oauth-toolkit OAuth2Authentication (opaque token)",
            "/dot-oauth2",
            [f"Bearer {creds.dot_token}"],
        ),
    ]
    c += [
        Contender(
            "reject-jwt",
            "OAuth JWT, malformed / badly signed",
            "/oauth-jwt",
            [f"Bearer {t}" for t in creds.bad_jwts],
            expect=401,
            kind="rejection",
        ),
        Contender(
            "reject-apikeys",
            "django-apikeys, malformed / bad-checksum key",
            "/apikeys",
            [f"Bearer {k}" for k in bad_keys],
            expect=401,
            kind="rejection",
        ),
        Contender(
            "reject-token",
            "DRF TokenAuthentication, unknown token",
            "/drf-token",
            [f"Token {os.urandom(20).hex()}" for _ in range(100)],
            expect=401,
            kind="rejection",
        ),
    ]
    return c


def bad_keys(count: int) -> list[str]:
    """Half malformed (length, alphabet, structure), half real format with a wrong checksum."""
    from bench.fixtures import fake_keys

    rng = random.Random(7)
    out: list[str] = []
    for i, (raw, _, _) in enumerate(fake_keys(count, seed=99)):
        if i % 2:
            out.append(raw[:-8] + format((int(raw[-8:], 16) + 1) % 2**32, "08x"))
        else:
            out.append(
                rng.choice(
                    [
                        raw[:-3],
                        raw + "x",
                        raw.replace("_", "-"),
                        raw[:10] + "!" + raw[11:],
                        "sk_" + raw[3:20],
                    ]
                )
            )
    return out


# --- in-process ------------------------------------------------------------


def _environ(path: str, authorization: str) -> dict[str, Any]:
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if authorization:
        env["HTTP_AUTHORIZATION"] = authorization
    return env


class Driver:
    """Calls the WSGI handler and counts queries and writes per contender."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler
        from django.db import connection

        self.handler = WSGIHandler()
        self.current: Contender | None = None
        self._status = 0
        # Installed for the driver's lifetime: keep the context manager alive.
        self._wrapper = connection.execute_wrapper(self._count)
        self._wrapper.__enter__()

    def _count(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        c = self.current
        if c is not None:
            c.queries += 1
            if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                c.writes += 1
            elif "cacheinvalidation" in sql:
                c.outbox += 1
        return execute(sql, params, many, context)

    def _start_response(self, status: str, headers: Any, exc_info: Any = None) -> None:
        self._status = int(status[:3])

    def environs(self, c: Contender) -> Iterator[dict[str, Any]]:
        envs = [_environ(c.path, h) for h in c.headers]
        i = 0
        while True:
            env = dict(envs[i % len(envs)])
            env["wsgi.input"] = io.BytesIO(b"")
            yield env
            i += 1

    def run(self, c: Contender, n: int, count: bool = True) -> float:
        """Send ``n`` requests; return µs per request."""
        configure(c)
        gen = self.environs(c)
        envs = [next(gen) for _ in range(n)]
        handler, start = self.handler, self._start_response
        self.current = c if count else None
        statuses = c.statuses
        gc.collect()
        t0 = time.perf_counter_ns()
        for env in envs:
            response = handler(env, start)
            for _ in response:
                pass
            response.close()
            if count:
                statuses[self._status] = statuses.get(self._status, 0) + 1
        elapsed = time.perf_counter_ns() - t0
        self.current = None
        if count:
            c.requests += n
        return elapsed / n / 1000


def configure(c: Contender) -> None:
    """Turn django-apikeys' lookup cache on for (f), (g) and (h-cache), and its
    counters (limits and metering: every request of the app's credentials is
    counted, whatever the view's throttles) for (g) only, reloading settings
    as tests do."""
    from django.conf import settings

    from django_apikeys.conf import apikeys_settings

    settings.RATELIMIT_ENABLE = c.counters
    wanted = {
        "KEY_CACHE_TIMEOUT": KEY_CACHE_SECONDS if c.key_cache else 0,
        "METERING": c.counters,
        **c.apikeys,
    }
    current = {name: settings.APIKEYS.get(name) for name in {*wanted, *_OVERRIDDEN}}
    target = {name: None for name in _OVERRIDDEN} | wanted
    if current != target:
        for name, value in target.items():
            if value is None:
                settings.APIKEYS.pop(name, None)
            else:
                settings.APIKEYS[name] = value
        _OVERRIDDEN.update(c.apikeys)
        apikeys_settings.reload()


#: APIKEYS names some contender has overridden (reset for the others).
_OVERRIDDEN: set[str] = set()


def paired(c: Contender, base: Contender) -> list[float]:
    return [x - b for x, b in zip(c.samples, base.samples, strict=True)]


def in_process(
    driver: Driver, cs: list[Contender], rounds: int, batch: int, warmup: int
) -> dict[str, Any]:
    for c in cs:  # warm-up: imports, caches, the first last_used write
        driver.run(c, warmup)
        c.warmup_writes = c.writes  # type: ignore[attr-defined]
        c.queries = c.writes = c.outbox = c.requests = 0
        c.statuses.clear()
    started = time.monotonic()
    for r in range(rounds):
        shift = r % len(cs)
        for c in cs[shift:] + cs[:shift]:
            c.samples.append(driver.run(c, batch))
    seconds = time.monotonic() - started
    base = cs[0]
    token = next(c for c in cs if c.id == "b")
    token_over = statistics.median(paired(token, base))
    out: dict[str, Any] = {
        "rounds": rounds,
        "batch": batch,
        "warmup": warmup,
        "seconds": round(seconds, 1),
        "contenders": {},
    }
    for c in cs:
        over = statistics.median(paired(c, base)) if c is not base else 0.0
        out["contenders"][c.id] = {
            "label": c.label,
            "kind": c.kind,
            "median_us": round(statistics.median(c.samples), 1),
            "min_us": round(min(c.samples), 1),
            "overhead_us": round(over, 1),
            "ratio_to_token": round(over / token_over, 3) if c is not base else 0.0,
            "requests": c.requests,
            "queries_per_request": round(c.queries / c.requests, 4),
            "queries": c.queries,
            "writes": c.writes,
            "outbox_reads": c.outbox,
            "warmup_writes": getattr(c, "warmup_writes", 0),
            "statuses": {str(k): v for k, v in sorted(c.statuses.items())},
            "expected_status": c.expect,
        }
    return out


def breakdown(raw_key: str, n: int = 2000) -> dict[str, float]:
    """Median µs of the hot path's parts for one valid key (cache off)."""
    from django_apikeys import keys, services
    from django_apikeys.conf import apikeys_settings

    configure(Contender("e", "", "", [""]))
    digest = keys.hash_key(raw_key)
    parts: dict[str, Callable[[], Any]] = {
        "parse_us": lambda: apikeys_settings.parser(raw_key),
        "hash_us": lambda: keys.hash_key(raw_key),
        "fetch_key_us": lambda: services.fetch_key(digest),
        "resolve_key_us": lambda: services.resolve_key(raw_key),
    }
    out = {}
    for name, fn in parts.items():
        samples = []
        for _ in range(9):
            t0 = time.perf_counter_ns()
            for _ in range(n // 10):
                fn()
            samples.append((time.perf_counter_ns() - t0) / (n // 10) / 1000)
        out[name] = round(statistics.median(samples), 2)
    return out


# --- scale (PostgreSQL) ----------------------------------------------------


def scale(
    driver: Driver, sizes: list[int], rounds: int, batch: int, kept: list[str]
) -> dict[str, Any]:
    from bench.fixtures import bulk_load_keys
    from django_apikeys.models import APIKey, Organization

    org = Organization.objects.get(slug="bench")
    kept = list(kept)
    out: dict[str, Any] = {"rounds": rounds, "batch": batch, "sizes": {}}
    seed = 1000
    for size in sizes:
        have = APIKey.objects.count()
        t0 = time.monotonic()
        if size > have:
            kept += bulk_load_keys(
                org.pk, size - have, seed=seed, keep_every=max(1, (size - have) // 500)
            )
            seed += 1
        load_s = time.monotonic() - t0
        sample = random.Random(size).sample(kept, min(200, len(kept)))
        base = Contender("a", "no authentication", "/none", [""])
        lookup = Contender(
            "e", "django-apikeys, cache off", "/apikeys", [f"Bearer {k}" for k in sample]
        )
        driver.run(lookup, len(sample), count=False)  # first use writes last_used once
        driver.run(base, batch, count=False)
        for r in range(rounds):
            for c in (base, lookup) if r % 2 else (lookup, base):
                c.samples.append(driver.run(c, batch))
        bad = {k: v for k, v in lookup.statuses.items() if k != 200}
        out["sizes"][str(size)] = {
            "keys_stored": APIKey.objects.count(),
            "load_seconds": round(load_s, 1),
            "distinct_keys_requested": len(sample),
            "median_us": round(statistics.median(lookup.samples), 1),
            "overhead_us": round(statistics.median(paired(lookup, base)), 1),
            "queries_per_request": round(lookup.queries / lookup.requests, 4),
            "writes": lookup.writes,
            "non_200": bad,
        }
        print(f"scale {size}: {out['sizes'][str(size)]}", file=sys.stderr)
    return out


# --- HTTP ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "bench.wsgi:application",
        "--workers",
        "2",
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /none HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if s.recv(12).endswith(b"200"):
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gunicorn did not start")


def start_redis(tmp: str) -> str | None:
    """A private redis-server on a free port (no persistence), stopped at exit by PID;
    ``None`` when redis-server is not installed (the bench then uses LocMemCache)."""
    server = shutil.which("redis-server")
    if server is None:
        return None
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(lambda: (proc.terminate(), proc.wait(timeout=30)))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(7) == b"+PONG\r\n":
                    return f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("redis-server did not start")


def http(
    cs: list[Contender], database_url: str, rounds: int, seconds: float, concurrency: int
) -> dict[str, Any]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    ports = {(False, False): _free_port(), (True, False): _free_port()}
    servers = [
        _start_gunicorn({**env, "BENCH_KEY_CACHE": "0"}, ports[False, False]),
        _start_gunicorn({**env, "BENCH_KEY_CACHE": str(KEY_CACHE_SECONDS)}, ports[True, False]),
    ]
    if any(c.counters for c in cs):  # (g): the lookup cache and the counters on
        ports[True, True] = _free_port()
        servers.append(
            _start_gunicorn(
                {**env, "BENCH_KEY_CACHE": str(KEY_CACHE_SECONDS), "BENCH_COUNTERS": "1"},
                ports[True, True],
            )
        )
    try:
        plan = {
            "rounds": rounds,
            "seconds": seconds,
            "concurrency": concurrency,
            "targets": [
                {
                    "id": c.id,
                    "port": ports[c.key_cache, c.counters],
                    "path": c.path,
                    "headers": c.headers,
                    "expect": c.expect,
                }
                for c in cs
                if not c.apikeys
            ],
        }
        result = subprocess.run(
            [sys.executable, "-m", "bench.load"],
            input=json.dumps(plan),
            text=True,
            capture_output=True,
            cwd=ROOT,
            check=True,
        )
        load = json.loads(result.stdout)
    finally:
        for proc in servers:  # our own gunicorn masters, by PID
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            proc.wait(timeout=30)
    base = statistics.median(load["targets"]["a"]["rps"])
    out: dict[str, Any] = {
        "rounds": rounds,
        "seconds": seconds,
        "concurrency": concurrency,
        "workers": 2,
        "contenders": {},
    }
    for c in cs:
        if c.apikeys:  # in-process only: the servers run the default settings
            continue
        t = load["targets"][c.id]
        rps = statistics.median(t["rps"])
        out["contenders"][c.id] = {
            "label": c.label,
            "kind": c.kind,
            "rps": round(rps),
            "rps_per_round": [round(x) for x in t["rps"]],
            "ratio_to_none": round(rps / base, 3),
            "requests": t["requests"],
            "unexpected": t["unexpected"],
        }
    return out


# --- main ------------------------------------------------------------------


def versions() -> dict[str, str]:
    from importlib.metadata import version

    import django
    from django.db import connection

    pkgs = [
        "djangorestframework",
        "djangorestframework-api-key",
        "django-rest-knox",
        "django-ratelimit",
        "gunicorn",
        "psycopg",
    ]
    out = {"python": platform.python_version(), "django": django.get_version()}
    out.update({p: version(p) for p in pkgs})
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            out["postgresql"] = cursor.fetchone()[0].split()[0]
        else:
            cursor.execute("select sqlite_version()")
            out["sqlite"] = cursor.fetchone()[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--http-rounds", type=int, default=12)
    parser.add_argument("--http-seconds", type=float, default=0.6)
    parser.add_argument("--http-concurrency", type=int, default=4)
    parser.add_argument(
        "--scale",
        type=str,
        default="",
        help="comma-separated key counts, e.g. 1000,100000,1000000",
    )
    parser.add_argument("--scale-rounds", type=int, default=20)
    args = parser.parse_args()
    started = time.monotonic()
    load_before = os.getloadavg()[0]

    tmp = tempfile.mkdtemp(prefix="apikeys-bench-")
    atexit.register(shutil.rmtree, tmp, True)  # the SQLite database lives here
    if args.database == "sqlite":
        database_url = f"sqlite:///{tmp}/bench.sqlite3"
    else:
        database_url = os.environ["DATABASE_URL"]
    os.environ["BENCH_DATABASE_URL"] = database_url
    redis_url = start_redis(tmp)
    if redis_url:
        os.environ["BENCH_REDIS_URL"] = redis_url  # also for the gunicorn servers
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from bench.fixtures import create_fixtures
    from bench.urls import HAS_THROTTLING

    call_command("migrate", verbosity=0)
    creds = create_fixtures()
    cs = contenders(creds, HAS_THROTTLING, bad_keys(1000))
    driver = Driver()  # one execute_wrapper for the whole run
    result: dict[str, Any] = {
        "database": args.database,
        "versions": versions(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "throttling_available": HAS_THROTTLING,
        "cache": "Redis" if redis_url else "LocMemCache",
        "prepared_statements": bool(settings.DATABASES["default"].get("OPTIONS")),
    }
    print(
        f"[{args.database}] in-process: {len(cs)} contenders x {args.rounds} rounds",
        file=sys.stderr,
    )
    result["in_process"] = in_process(driver, cs, args.rounds, args.batch, warmup=200)
    result["breakdown"] = breakdown(creds.apikeys_server)
    if args.http_rounds:
        print(f"[{args.database}] HTTP", file=sys.stderr)
        result["http"] = http(
            cs, database_url, args.http_rounds, args.http_seconds, args.http_concurrency
        )
    if args.scale:
        sizes = [int(s) for s in args.scale.split(",")]
        result["scale"] = scale(driver, sizes, args.scale_rounds, args.batch, creds.filler_keys)
    result["seconds"] = round(time.monotonic() - started, 1)
    # Other work on the machine shows here; interleaving spreads it over every contender.
    result["loadavg"] = [load_before, os.getloadavg()[0]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"[{args.database}] done in {result['seconds']} s -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
