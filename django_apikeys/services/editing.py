"""Editing a key's settings in place: name, per-key rate limits, allowed origins
and allowed IP addresses.

What a key may do (type, owner, scopes) is fixed at creation; changing it
means creating a new key. The secret is untouched: editing never shows or
changes the raw key. The change runs in a transaction and leaves a
``key.updated`` :class:`~django_apikeys.models.AuditEvent` naming the fields
(with old and new values; none of them is secret).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ..abstract import NAME_LENGTH
from ..models import APIKey, AuditEvent
from ..networks import normalize_networks
from ..origins import normalize_origins
from ._common import audit, invalid

#: The largest per-key rate limit: the columns are ``PositiveIntegerField``,
#: a 32-bit ``integer`` on PostgreSQL, which refuses anything larger.
MAX_RATE_LIMIT = 2**31 - 1

#: The fields :func:`update_key` changes.
EDITABLE_FIELDS = (
    "name",
    "rate_limit_per_minute",
    "rate_limit_per_day",
    "allowed_origins",
    "allowed_ips",
)

_UNSET: Any = object()


def _rate_limit(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RATE_LIMIT:
        raise invalid(
            field,
            _("Enter a whole number from 0 to %(max)s (0 = the key type's default).")
            % {"max": MAX_RATE_LIMIT},
            "invalid_rate_limit",
        )
    return value


def update_key(
    api_key: APIKey,
    *,
    actor: Any = None,
    ip_address: str | None = None,
    name: Any = _UNSET,
    rate_limit_per_minute: Any = _UNSET,
    rate_limit_per_day: Any = _UNSET,
    allowed_origins: Iterable[str] | Any = _UNSET,
    allowed_ips: Iterable[str] | Any = _UNSET,
) -> APIKey:
    """Change the given settings of ``api_key``; return it, saved.

    Only arguments that are passed change. Raises ``ValidationError`` (with
    field names) for an empty name, a rate limit outside 0..2**31-1 or an
    origin that is not one; a revoked key cannot be edited
    (``key_not_active``). Nothing changed: no write and no audit event.
    """
    changes: dict[str, Any] = {}
    if name is not _UNSET:
        text = str(name).strip() if name is not None else ""
        if not text:
            raise invalid("name", _("A key needs a name."), "name_required")
        if len(text) > NAME_LENGTH:
            raise invalid(
                "name",
                _("At most %(max)s characters.") % {"max": NAME_LENGTH},
                "name_too_long",
            )
        changes["name"] = text
    for field, value in (
        ("rate_limit_per_minute", rate_limit_per_minute),
        ("rate_limit_per_day", rate_limit_per_day),
    ):
        if value is not _UNSET:
            changes[field] = _rate_limit(field, value)
    if allowed_origins is not _UNSET:
        changes["allowed_origins"] = normalize_origins(allowed_origins)
    if allowed_ips is not _UNSET:
        changes["allowed_ips"] = normalize_networks(allowed_ips)
    with transaction.atomic():
        locked = APIKey.objects.select_for_update().get(pk=api_key.pk)
        if locked.is_revoked:
            raise ValidationError(_("A revoked key cannot be edited."), code="key_not_active")
        changed = {
            field: {"from": getattr(locked, field), "to": value}
            for field, value in changes.items()
            if getattr(locked, field) != value
        }
        if changed:
            for field in changed:
                setattr(locked, field, changes[field])
            # save() sends post_save: the lookup cache forgets the key on commit.
            locked.save(update_fields=list(changed))
            audit(
                locked.organization,
                AuditEvent.Action.KEY_UPDATED,
                locked,
                actor=actor,
                ip_address=ip_address,
                details={"changes": changed},
            )
    api_key.refresh_from_db()
    return api_key
