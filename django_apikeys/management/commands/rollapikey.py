"""``manage.py rollapikey KEY_ID [--now | --grace SECONDS]``: replace a key and
print the new one once."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.views.decorators.debug import sensitive_variables

from django_apikeys import services
from django_apikeys.management.keyarg import HELP, key_from_argument


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = (
        "Roll an API key: a new key with the same settings, printed once on standard output "
        "(everything else goes to standard error). The old key keeps working for the grace "
        "period (APIKEYS['ROLL_GRACE_PERIOD'] by default); --now stops it at once, for a key "
        "that may have leaked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help=HELP)
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--now",
            action="store_true",
            help="The key may be compromised: revoke the old key at once (no grace period).",
        )
        group.add_argument(
            "--grace", type=int, metavar="SECONDS", help="Keep the old key working this long."
        )

    @sensitive_variables("raw_key")
    def handle(self, *args: Any, **options: Any) -> None:
        api_key = key_from_argument(options["key"], options.get("stdin"))
        grace = None
        if options["grace"] is not None:
            if options["grace"] < 0:
                raise CommandError("--grace cannot be negative.")
            grace = datetime.timedelta(seconds=options["grace"])
        try:
            new, raw_key = services.roll_key(
                api_key, grace_period=grace, compromised=options["now"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        api_key.refresh_from_db()
        if api_key.is_revoked:
            old = "The old key is revoked."
        else:
            old = f"The old key keeps working until {api_key.expires_at:%Y-%m-%d %H:%M:%S %Z}."
        self.stderr.write(
            f"Rolled {api_key.name!r} ({api_key.hint}) into {new.hint} (id {new.pk}). {old} "
            "The new key is shown once; store it now:"
        )
        self.stdout.write(raw_key)
