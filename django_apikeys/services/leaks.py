"""Leaked keys: what a secret scanner's report does.

:func:`report_leaks` takes the reports a verified scanner sent and, in
bounded queries whatever their number:

* a token that is not a well-formed key of ours costs no query;
* the well-formed ones are looked up together, in one ``IN`` over hashes;
* a key reported for the first time is marked ``leaked_at``, revoked (or
  only flagged, ``APIKEYS["SECRET_SCANNING_ACTION"] = "flag"``), leaves a
  ``key.leaked`` audit event naming the URL and source, sends
  ``api_key_leaked`` and e-mails its organization's Owners and its creator;
* a key reported again changes nothing (``leaked_at`` is set): reports are
  idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import notifications, signals
from ..conf import apikeys_settings
from ..models import APIKey, AuditEvent
from .lifecycle import revoke_keys

if TYPE_CHECKING:
    from ..scanning.base import LeakReport

Action = AuditEvent.Action
ACTIONS = ("revoke", "flag")


@dataclass(frozen=True)
class LeakResult:
    """The outcome for one report: ``api_key`` is ``None`` for a false positive;
    ``new`` is true when this report was the first for the key, ``revoked``
    when this report revoked it."""

    report: LeakReport
    token_hash: str
    api_key: APIKey | None = None
    new: bool = False
    revoked: bool = False


def _action() -> str:
    action = apikeys_settings.SECRET_SCANNING_ACTION
    if action not in ACTIONS:
        raise ImproperlyConfigured(
            f"APIKEYS['SECRET_SCANNING_ACTION'] must be one of {ACTIONS}, not {action!r}."
        )
    return str(action)


@sensitive_variables("reports", "token")
def report_leaks(reports: Sequence[LeakReport], *, reporter: str) -> list[LeakResult]:
    """Handle the leak ``reports`` of the scanner ``reporter``; one result per report."""
    action = _action()
    parser = apikeys_settings.parser
    hashes: list[str] = []
    ours: set[str] = set()
    for report in reports:
        token = report.token
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        hashes.append(digest)
        if parser(token) is not None:  # format and checksum: no query otherwise
            ours.add(digest)
    if not ours:
        return [LeakResult(report, digest) for report, digest in zip(reports, hashes, strict=True)]

    first_report: dict[str, LeakReport] = {}
    for report, digest in zip(reports, hashes, strict=True):
        if digest in ours:
            first_report.setdefault(digest, report)
    with transaction.atomic():
        found = {
            key.hashed_key: key
            for key in APIKey.objects.select_for_update(of=("self",))
            .select_related("organization", "created_by", "user")
            .filter(hashed_key__in=ours)
            .order_by()
        }
        new = [key for key in found.values() if key.leaked_at is None]
        revoked_ids = _handle_new(new, first_report, reporter, action) if new else set()
    new_ids = {key.pk for key in new}
    results = []
    for report, digest in zip(reports, hashes, strict=True):
        key = found.get(digest)
        first = key is not None and first_report[digest] is report and key.pk in new_ids
        results.append(
            LeakResult(
                report,
                digest,
                key,
                new=first,
                revoked=first and key is not None and key.pk in revoked_ids,
            )
        )
    return results


def _handle_new(
    new: list[APIKey], reports: dict[str, LeakReport], reporter: str, action: str
) -> set[Any]:
    now = timezone.now()
    APIKey.objects.filter(pk__in=[key.pk for key in new], leaked_at__isnull=True).update(
        leaked_at=now
    )
    revoked_ids: set[Any] = set()
    if action == "revoke":
        revoked = revoke_keys(new, details={"reason": "leaked", "reporter": reporter})
        revoked_ids = {key.pk for key in revoked}
    events = []
    for key in new:
        report = reports[key.hashed_key]
        key.leaked_at = now
        if key.pk in revoked_ids:
            key.is_active, key.revoked_at = False, now
        events.append(
            AuditEvent(
                organization=key.organization,
                action=cast(str, AuditEvent.Action.KEY_LEAKED),
                target_type=key._meta.model_name or "",
                target_id=str(key.pk),
                target_repr=str(key)[:255],
                details={
                    "reporter": reporter,
                    "url": report.url,
                    "source": report.source,
                    "token_type": report.type,
                    "revoked": key.pk in revoked_ids,
                },
                created_at=now,
            )
        )
        _send_leaked(key, report, reporter, key.pk in revoked_ids)
    AuditEvent.objects.bulk_create(events)
    owners = notifications.owners_by_organization(key.organization_id for key in new)
    transaction.on_commit(lambda: _email(new, reports, owners, revoked_ids, reporter))
    return revoked_ids


def _send_leaked(key: APIKey, report: LeakReport, reporter: str, revoked: bool) -> None:
    transaction.on_commit(
        lambda: signals.api_key_leaked.send(
            sender=APIKey,
            api_key=key,
            url=report.url,
            source=report.source,
            reporter=reporter,
            revoked=revoked,
        )
    )


def _email(
    new: list[APIKey],
    reports: dict[str, LeakReport],
    owners: dict[Any, list[Any]],
    revoked_ids: set[Any],
    reporter: str,
) -> None:
    messages: dict[str, dict[str, Any]] = {}
    for address, keys in notifications.recipients_by_address(new, owners).items():
        messages[address] = {
            "leaks": [
                {
                    "api_key": key,
                    "url": reports[key.hashed_key].url,
                    "source": reports[key.hashed_key].source,
                    "revoked": key.pk in revoked_ids,
                }
                for key in keys
            ],
            "reporter": reporter,
        }
    notifications.send_to_each(messages, "key_leaked")
