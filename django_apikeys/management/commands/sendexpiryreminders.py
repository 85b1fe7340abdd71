"""``manage.py sendexpiryreminders``: e-mail people about keys that expire soon.

Safe to run from cron every hour (or more often, from several machines): a
reminder is recorded in :class:`~django_apikeys.models.ExpiryReminder`
(unique per key, threshold and expiry date) in the same transaction that
sends it, so each key gets each reminder once.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction
from django.utils import timezone

from django_apikeys import notifications, signals
from django_apikeys.conf import apikeys_settings
from django_apikeys.models import APIKey, AuditEvent, ExpiryReminder
from django_apikeys.services._common import audit


def thresholds() -> list[int]:
    """``APIKEYS["EXPIRY_REMINDER_DAYS"]``, ascending; ``CommandError`` if not whole days."""
    days = apikeys_settings.EXPIRY_REMINDER_DAYS
    if not isinstance(days, list | tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in days
    ):
        raise CommandError("APIKEYS['EXPIRY_REMINDER_DAYS'] must be a list of positive integers.")
    return sorted(set(days))


def due_threshold(expires_at: datetime.datetime, now: datetime.datetime, days: list[int]) -> int:
    """The most urgent threshold a key expiring at ``expires_at`` has reached
    (a key made with 2 days to live gets the 7-day reminder, then the 1-day one)."""
    left = expires_at - now
    return min(d for d in days if left <= datetime.timedelta(days=d))


class Command(BaseCommand):
    help = (
        "E-mail the creator (and the organization's Owners, for organization keys) of every "
        "active key that expires within APIKEYS['EXPIRY_REMINDER_DAYS'] days; once per key "
        "per threshold. Safe to run every hour."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List the reminders due; send nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = thresholds()
        if not days:
            self.stdout.write("No reminder thresholds configured.")
            return
        now = timezone.now()
        candidates = list(
            APIKey.objects.filter(
                is_active=True,
                revoked_at__isnull=True,
                expires_at__gt=now,
                expires_at__lte=now + datetime.timedelta(days=max(days)),
            )
            .select_related("organization", "created_by", "user")
            .order_by("expires_at")
        )
        sent_before = set(
            ExpiryReminder.objects.filter(api_key__in=candidates).values_list(
                "api_key_id", "days", "expires_at"
            )
        )
        due = [(key, due_threshold(key.expires_at, now, days)) for key in candidates]
        due = [(key, d) for key, d in due if (key.pk, d, key.expires_at) not in sent_before]
        owners = notifications.owners_by_organization(
            key.organization_id for key, _ in due if key.user_id is None
        )
        count = 0
        for api_key, threshold in due:
            if options["dry_run"]:
                self.stdout.write(
                    f"Due: {api_key.name} ({api_key.hint}), {threshold}-day reminder"
                )
                continue
            if self.remind(api_key, threshold, now, owners):
                count += 1
        if not options["dry_run"]:
            self.stdout.write(f"Sent {count} expiry reminder(s).")

    def remind(
        self, api_key: APIKey, threshold: int, now: datetime.datetime, owners: dict[Any, Any]
    ) -> bool:
        """Record and send one reminder; ``False`` if another run sent it or sending failed."""
        key_owners = owners if api_key.user_id is None else {}
        recipients = list(notifications.recipients_by_address([api_key], key_owners))
        assert api_key.expires_at is not None
        left = max(1, math.ceil((api_key.expires_at - now) / datetime.timedelta(days=1)))
        try:
            with transaction.atomic():
                ExpiryReminder.objects.create(
                    api_key=api_key, days=threshold, expires_at=api_key.expires_at
                )
                sent = notifications.send_to_each(
                    {address: {"api_key": api_key, "days": left} for address in recipients},
                    "key_expiring",
                )
                if recipients and not sent:
                    # The mail server failed: forget the reminder, the next run retries.
                    transaction.set_rollback(True)
                    return False
                audit(
                    api_key.organization,
                    AuditEvent.Action.EXPIRY_REMINDED,
                    api_key,
                    details={"days": threshold, "recipients": len(recipients)},
                )
                transaction.on_commit(
                    lambda: signals.api_key_expiring.send(
                        sender=APIKey, api_key=api_key, days=threshold, recipients=recipients
                    )
                )
        except IntegrityError:
            return False  # another run recorded it first
        return True
