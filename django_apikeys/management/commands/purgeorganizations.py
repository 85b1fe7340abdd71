"""``manage.py purgeorganizations``: remove organizations deleted longer ago
than ``APIKEYS["ORGANIZATION_RETENTION"]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_apikeys import services


class Command(BaseCommand):
    help = (
        "Remove for good the organizations deleted (deactivated) longer ago than "
        'APIKEYS["ORGANIZATION_RETENTION"] seconds, with their keys, members, '
        "invitations, usage and audit log. Safe to run from cron at any time, "
        "and twice at once: each organization is removed once, in its own transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the organizations that are due without removing anything.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        done = services.purge_organizations(dry_run=dry_run)
        verb = "Due" if dry_run else "Purged"
        for pk, slug in done:
            self.stdout.write(f"{verb}: {slug} ({pk})")
        self.stdout.write(
            f"{len(done)} organization(s) {'due for purging' if dry_run else 'purged'}."
        )
