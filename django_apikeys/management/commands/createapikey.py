"""``manage.py createapikey ORG TYPE NAME``: create a key and print it once."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from django_apikeys import services
from django_apikeys.models import Organization
from django_apikeys.tenancy import OrganizationRef


class Command(BaseCommand):
    help = (
        "Create an API key and print the raw key once on standard output "
        "(everything else goes to standard error, so `$(createapikey ...)` captures the key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="Organization UUID or slug.")
        parser.add_argument("key_type", help="Key type name from APIKEYS['KEY_TYPES'].")
        parser.add_argument("name", help="A name to recognise the key by.")
        parser.add_argument("--user", help="Owner username (for user keys).")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            help="A scope to grant (repeat). Default: the type's default scopes.",
        )
        parser.add_argument("--expires-in-days", type=int, help="Expire after N days.")
        parser.add_argument("--rate-limit-per-minute", type=int, default=0)
        parser.add_argument("--rate-limit-per-day", type=int, default=0)
        parser.add_argument(
            "--environment",
            default="",
            help="An environment label from APIKEYS['ENVIRONMENTS'], e.g. production.",
        )

    @sensitive_variables("raw_key")
    def handle(self, *args: Any, **options: Any) -> None:
        ref = OrganizationRef(options["organization"])
        organization = Organization.objects.filter(**ref.lookup()).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}.")
        user = None
        if options["user"]:
            User = get_user_model()
            try:
                user = User._default_manager.get_by_natural_key(options["user"])
            except User.DoesNotExist:
                raise CommandError(f"No user {options['user']!r}.") from None
        expires_at = None
        if options["expires_in_days"] is not None:
            if options["expires_in_days"] <= 0:
                raise CommandError("--expires-in-days must be positive.")
            try:
                expires_at = timezone.now() + datetime.timedelta(days=options["expires_in_days"])
            except OverflowError:
                raise CommandError("--expires-in-days is too large.") from None
        try:
            api_key, raw_key = services.create_key(
                organization=organization,
                key_type=options["key_type"],
                name=options["name"],
                user=user,
                scopes=options["scopes"],
                expires_at=expires_at,
                rate_limit_per_minute=options["rate_limit_per_minute"],
                rate_limit_per_day=options["rate_limit_per_day"],
                environment=options["environment"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stderr.write(
            f"Created {api_key.key_type} key {api_key.name!r} ({api_key.hint}, id {api_key.pk}) "
            f"for {organization}. It is shown once; store it now:"
        )
        self.stdout.write(raw_key)
