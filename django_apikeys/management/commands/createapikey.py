"""``manage.py createapikey ORG TYPE NAME``: create a key and print it once."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from django_apikeys import services
from django_apikeys.conf import apikeys_settings
from django_apikeys.models import Organization
from django_apikeys.services.lifecycle import DEFAULT_EXPIRY, DefaultExpiry
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
            help=(
                "A scope to grant, e.g. clients:read (repeat for more; '*' for everything). "
                "Required unless the type has default scopes."
            ),
        )
        expiry = parser.add_mutually_exclusive_group()
        expiry.add_argument(
            "--expires-in-days",
            type=int,
            help="Expire after N days (default: APIKEYS['DEFAULT_KEY_EXPIRY_DAYS'], 90).",
        )
        expiry.add_argument(
            "--no-expiry",
            action="store_true",
            help="Create a key that never expires (the default is an expiry).",
        )
        parser.add_argument("--rate-limit-per-minute", type=int, default=0)
        parser.add_argument("--rate-limit-per-day", type=int, default=0)
        parser.add_argument(
            "--environment",
            default="",
            help="An environment label from APIKEYS['ENVIRONMENTS'], e.g. production.",
        )

    @sensitive_variables("raw_key")
    def handle(self, *args: Any, **options: Any) -> None:
        organization = _organization(options["organization"])
        user = None
        if options["user"]:
            User = get_user_model()
            try:
                user = User._default_manager.get_by_natural_key(options["user"])
            except User.DoesNotExist:
                raise CommandError(f"No user {options['user']!r}.") from None
        # No expiry option: the service's default expiry (the one home of it).
        expires_at: datetime.datetime | None | DefaultExpiry = DEFAULT_EXPIRY
        if options["no_expiry"]:
            expires_at = None
        elif options["expires_in_days"] is not None:
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
            raise CommandError(
                " ".join(_with_fix(error, organization) for error in _errors(exc))
            ) from None
        self.stderr.write(
            f"Created {api_key.key_type} key {api_key.name!r} ({api_key.hint}, id {api_key.pk}) "
            f"for {organization}. It is shown once; store it now:"
        )
        self.stdout.write(raw_key)


def _organization(value: str) -> Organization:
    """The organization named by UUID or slug, or a ``CommandError`` that says
    how to name it: the slug a name or differently-cased slug stands for, else
    the slugs there are."""
    ref = OrganizationRef(value)
    organization = Organization.objects.filter(**ref.lookup()).first() if ref.plausible else None
    if organization is not None:
        return organization
    close = (
        Organization.objects.filter(Q(slug__iexact=value) | Q(name__iexact=value))
        .values_list("slug", flat=True)
        .first()
    )
    if close is not None:
        raise CommandError(
            f"No organization {value!r}: name it by its slug or id, e.g. {close!r}."
        )
    slugs = list(Organization.objects.order_by("slug").values_list("slug", flat=True)[:11])
    if not slugs:
        raise CommandError(
            f"No organization {value!r}, and there is none yet: create one in the "
            "dashboard or the admin first."
        )
    listed = ", ".join(slugs[:10]) + (", ..." if len(slugs) > 10 else "")
    raise CommandError(
        f"No organization {value!r}: name it by its slug or id. Organizations: {listed}."
    )


def _errors(exc: ValidationError) -> list[ValidationError]:
    """Each single error of ``exc`` (a dict of fields, a list, or one)."""
    if hasattr(exc, "error_dict"):
        return [error for errors in exc.error_dict.values() for error in errors]
    return list(exc.error_list)


def _with_fix(error: ValidationError, organization: Organization) -> str:
    """The service's message, and the command-line way to fix it where there is one."""
    message = " ".join(error.messages)
    if error.code == "invalid_key_type":
        types = ", ".join(apikeys_settings.key_types)
        return f"{message} Key types: {types}."
    if error.code == "owner_required":
        return f"{message} Pass --user USERNAME, a member of {organization.slug!r}."
    if error.code == "owner_forbidden":
        return f"{message} Leave out --user, or create a user key."
    if error.code == "scopes_required":
        return f"{message} Pass --scope (repeat for more), e.g. --scope clients:read."
    return message
