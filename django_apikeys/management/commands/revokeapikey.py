"""``manage.py revokeapikey KEY_ID``: revoke a key for good."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_apikeys import services
from django_apikeys.management.keyarg import HELP, key_from_argument


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = "Revoke an API key by its id (UUID) or by the raw key itself (read from stdin with -)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help=HELP)

    def handle(self, *args: Any, **options: Any) -> None:
        api_key = key_from_argument(options["key"], options.get("stdin"))
        if services.revoke_key(api_key):
            self.stdout.write(f"Revoked {api_key.name!r} ({api_key.hint}).")
        else:
            self.stdout.write(f"{api_key.name!r} ({api_key.hint}) was already revoked.")
