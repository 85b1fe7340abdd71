"""Profile one contender in-process (cProfile top entries): a developer's tool.

scripts/with-postgres.sh bench/.venv/bin/python -m bench.profile_hot e f
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import tempfile

from bench import run


def main() -> None:
    ids = sys.argv[1:] or ["e"]
    tmp = tempfile.mkdtemp(prefix="apikeys-prof-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/p.sqlite3")
    os.environ["BENCH_DATABASE_URL"] = os.environ["DATABASE_URL"]
    redis_url = run.start_redis(tmp)
    if redis_url:
        os.environ["BENCH_REDIS_URL"] = redis_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from bench.fixtures import create_fixtures
    from bench.urls import HAS_THROTTLING

    call_command("migrate", verbosity=0)
    creds = create_fixtures()
    cs = {c.id: c for c in run.contenders(creds, HAS_THROTTLING, run.bad_keys(100))}
    driver = run.Driver()
    for cid in ["a", "b", *ids]:
        driver.run(cs[cid], 300, count=False)
    for cid in ["a", "b", *ids]:
        best = min(driver.run(cs[cid], 300, count=False) for _ in range(7))
        print(f"{cid:8} best-of-7 {best:8.1f} µs/request  {cs[cid].label}")
    for cid in ids:
        prof = cProfile.Profile()
        prof.enable()
        driver.run(cs[cid], 2000, count=False)
        prof.disable()
        print(f"\n=== {cid}: {cs[cid].label} (2000 requests, tottime)")
        stats = pstats.Stats(prof)
        stats.sort_stats("tottime").print_stats(int(os.environ.get("PROFILE_TOP", "25")))
        ours = "django_apikeys|rest_framework/(views|request)"
        stats.sort_stats("cumulative").print_stats(ours, 30)


if __name__ == "__main__":
    main()
