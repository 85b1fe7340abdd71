"""``manage.py flushusage``: move usage counters from the cache into UsageRecord rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_apikeys import metering

#: Days ``--days`` may reach back.
MAX_DAYS = 366


class Command(BaseCommand):
    help = (
        "Move the per-organization/key/day request counters from the cache into "
        "UsageRecord rows. Safe to run at any time and concurrently; run it at least "
        "daily (counters expire after 8 days)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=metering.FLUSH_DAYS,
            help="How many days back to look for counters (default %(default)s, today included).",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Wait for a flush already running elsewhere instead of skipping.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if days > MAX_DAYS:  # counters expire after 8 days; this also keeps dates in the calendar
            raise CommandError(f"--days must be at most {MAX_DAYS}.")
        result = metering.flush(days, wait=options["wait"])
        if result.locked:
            self.stdout.write("Another flush is running; nothing done.")
            return
        self.stdout.write(
            f"Flushed {result.requests} request(s) from {result.counters} counter(s)."
        )
