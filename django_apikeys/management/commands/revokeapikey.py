"""``manage.py revokeapikey KEY_ID``: revoke a key for good."""

from __future__ import annotations

import sys
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_apikeys import keys, services
from django_apikeys.models import APIKey


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = "Revoke an API key by its id (UUID) or by the raw key itself (read from stdin with -)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="Key id (UUID), or '-' to read the raw key from stdin.")

    def handle(self, *args: Any, **options: Any) -> None:
        value = options["key"]
        if value == "-":
            stream = options.get("stdin") or sys.stdin
            raw = stream.readline().strip()
            api_key = APIKey.objects.filter(hashed_key=keys.hash_key(raw)).first()
        else:
            try:
                api_key = APIKey.objects.filter(pk=uuid.UUID(value)).first()
            except ValueError:
                raise CommandError(
                    "Give the key's id (a UUID). To revoke by the raw key, pass '-' and "
                    "pipe the key on standard input, so it stays out of shell history."
                ) from None
        if api_key is None:
            raise CommandError("No such API key.")
        if services.revoke_key(api_key):
            self.stdout.write(f"Revoked {api_key.name!r} ({api_key.hint}).")
        else:
            self.stdout.write(f"{api_key.name!r} ({api_key.hint}) was already revoked.")
