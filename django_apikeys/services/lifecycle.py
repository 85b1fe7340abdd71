"""The key lifecycle: validate a request, create, roll and revoke keys.

Each write runs in a transaction, leaves an :class:`~django_apikeys.models.AuditEvent`
and sends its signal on commit (``sender`` is the key's concrete model).
``create_key`` takes the concrete key ``model`` (default
:class:`~django_apikeys.models.APIKey`); roll and revoke work on the class of
the key they are given.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable
from typing import Any, TypeVar, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from .. import cache, keys, signals
from ..abstract import NAME_LENGTH, AbstractAPIKey
from ..conf import KeyType, apikeys_settings
from ..models import APIKey, AuditEvent, Organization
from ..networks import normalize_networks
from ..origins import normalize_origins
from ..scopes import expand_wildcard, normalize_scopes, outside
from ._common import allowed_scopes_for, audit, invalid, membership_for, send_on_commit
from .grants import check_organization_permissions_grantable

Action = AuditEvent.Action
KeyT = TypeVar("KeyT", bound=AbstractAPIKey)

#: The largest rate limit or quota: the columns are ``PositiveIntegerField``,
#: a 32-bit ``integer`` on PostgreSQL, which refuses anything larger.
MAX_RATE_LIMIT = 2**31 - 1

#: The last year an expiry may fall in: the end of 9999-12-31 is past the last
#: ``datetime``, and a year's margin keeps time zone conversions (and a roll's
#: "same lifetime from now") inside the calendar.
MAX_EXPIRY_YEAR = 9998

#: The latest expiry: the end of the last day of MAX_EXPIRY_YEAR.
_LAST_EXPIRY = datetime.datetime(MAX_EXPIRY_YEAR + 1, 1, 2, tzinfo=datetime.timezone.utc)

#: Allowed origins of one key.
MAX_ALLOWED_ORIGINS = 20


def _check_bounds(
    *,
    expires_at: Any,
    rate_limit_per_minute: Any,
    rate_limit_per_day: Any,
    remaining_uses: Any = None,
) -> None:
    """``ValidationError`` for values the columns cannot hold (never a ``DataError``)."""
    for field, value in (
        ("rate_limit_per_minute", rate_limit_per_minute),
        ("rate_limit_per_day", rate_limit_per_day),
        ("remaining_uses", remaining_uses),
    ):
        if value is None and field == "remaining_uses":
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(field, _("Enter a whole number."), "invalid_number")
        if value < 0 or value > MAX_RATE_LIMIT:
            raise invalid(
                field,
                _("Enter a number from 0 to %(max)d.") % {"max": MAX_RATE_LIMIT},
                "invalid_rate_limit" if field != "remaining_uses" else "invalid_quota",
            )
    if expires_at is not None:
        if not isinstance(expires_at, datetime.datetime):
            raise invalid("expires_at", _("Enter a date and time."), "invalid_expiry")
        if expires_at > _LAST_EXPIRY:
            raise invalid(
                "expires_at",
                _("The expiry must be before the year %(year)d.") % {"year": MAX_EXPIRY_YEAR + 1},
                "expiry_too_late",
            )


class DefaultExpiry(enum.Enum):
    """The type of :data:`DEFAULT_EXPIRY` (one member, for typing)."""

    EXPIRY = "the default expiry"


#: ``create_key``'s ``expires_at`` when none is given: ``APIKEYS["DEFAULT_KEY_EXPIRY_DAYS"]``
#: days from now. ``expires_at=None`` is the explicit opt-out: the key never expires.
DEFAULT_EXPIRY = DefaultExpiry.EXPIRY


def default_expiry() -> datetime.datetime | None:
    """When a key created now expires if its creator names no expiry (``None``: never).

    The one home of the rule: the command, the admin, the management API and
    the dashboard's initial choice all ask it.
    """
    days = apikeys_settings.DEFAULT_KEY_EXPIRY_DAYS
    return timezone.now() + datetime.timedelta(days=days) if days else None


def validate_key_request(
    *,
    organization: Organization,
    key_type: str,
    user: Any = None,
    created_by: Any = None,
    scopes: Iterable[str] | None = None,
    expires_at: datetime.datetime | None = None,
    rate_limit_per_minute: int = 0,
    rate_limit_per_day: int = 0,
    environment: str = "",
) -> tuple[KeyType, list[str]]:
    """Check a key request; return its key type and normalised scopes.

    Raises ``ValidationError`` (with field names where they apply) when the
    type is unknown, the owner does not fit the type, the scopes exceed the
    type's allowance or what ``created_by`` holds in the organization, or
    ``expires_at`` is in the past, or ``environment`` is not one of
    ``APIKEYS["ENVIRONMENTS"]``. ``*`` on a type that may carry only some
    scopes means all of those (:func:`~django_apikeys.scopes.expand_wildcard`).
    Forms call this in ``clean()``.
    """
    kt = apikeys_settings.key_type(key_type)
    if kt is None:
        raise invalid(
            "key_type", _("Unknown key type “%(type)s”.") % {"type": key_type}, "invalid_key_type"
        )
    if kt.user_owned and user is None:
        raise invalid("user", _("A user key needs an owner."), "owner_required")
    if not kt.user_owned and user is not None:
        raise invalid("user", _("An organization key cannot belong to a user."), "owner_forbidden")
    if (
        kt.user_owned
        and created_by is not None
        and not getattr(created_by, "is_superuser", False)
        and getattr(created_by, "pk", None) != getattr(user, "pk", None)
    ):
        # A user key acts with its owner's role: only the owner may mint one.
        raise invalid(
            "user", _("You can only create user keys for yourself."), "owner_not_creator"
        )
    if kt.user_owned and membership_for(user, organization) is None:
        raise invalid(
            "user", _("The key's owner must be a member of the organization."), "owner_not_member"
        )
    if scopes is None and kt.default_scopes is None:
        # Never an implicit "*": a key carries what its creator asked for.
        raise invalid(
            "scopes",
            _("Name the scopes a %(type)s key may use (e.g. clients:read); “*” grants everything.")
            % {"type": kt.label},
            "scopes_required",
        )
    try:
        requested = normalize_scopes(kt.default_scopes if scopes is None else scopes)
    except ValidationError as exc:
        raise ValidationError({"scopes": exc.error_list}) from None
    requested = expand_wildcard(requested, kt.scopes)
    beyond_type = outside(requested, kt.scopes)
    if beyond_type:
        raise invalid(
            "scopes",
            _("A %(type)s key cannot carry: %(scopes)s.")
            % {"type": kt.label, "scopes": ", ".join(beyond_type)},
            "scope_not_allowed",
        )
    check_organization_permissions_grantable(kt, organization, created_by)
    ceiling = allowed_scopes_for(created_by, organization)
    if ceiling is not None:
        beyond_creator = outside(requested, ceiling)
        if beyond_creator:
            raise invalid(
                "scopes",
                _("You cannot grant scopes you do not hold: %(scopes)s.")
                % {"scopes": ", ".join(beyond_creator)},
                "scope_exceeds_creator",
            )
    if (
        isinstance(rate_limit_per_minute, int)
        and isinstance(rate_limit_per_day, int)
        and (rate_limit_per_minute < 0 or rate_limit_per_day < 0)
    ):
        raise ValidationError(_("Rate limits cannot be negative."), code="invalid_rate_limit")
    _check_bounds(
        expires_at=expires_at,
        rate_limit_per_minute=rate_limit_per_minute,
        rate_limit_per_day=rate_limit_per_day,
    )
    if expires_at is not None and expires_at <= timezone.now():
        raise invalid("expires_at", _("The expiry must be in the future."), "expiry_in_past")
    if environment and environment not in apikeys_settings.ENVIRONMENTS:
        choices = ", ".join(apikeys_settings.ENVIRONMENTS) or _("none are configured")
        raise invalid(
            "environment",
            _("Unknown environment “%(environment)s” (choices: %(choices)s).")
            % {"environment": str(environment)[:40], "choices": choices},
            "invalid_environment",
        )
    return kt, requested


@sensitive_variables("raw_key")
def create_key(
    *,
    organization: Organization,
    key_type: str,
    name: str,
    user: Any = None,
    created_by: Any = None,
    scopes: Iterable[str] | None = None,
    expires_at: datetime.datetime | None | DefaultExpiry = DEFAULT_EXPIRY,
    rate_limit_per_minute: int = 0,
    rate_limit_per_day: int = 0,
    allowed_origins: Iterable[str] | None = None,
    allowed_ips: Iterable[str] | None = None,
    remaining_uses: int | None = None,
    replaces: AbstractAPIKey | None = None,
    ip_address: str | None = None,
    environment: str = "",
    model: type[AbstractAPIKey] | None = None,
    rate_limit_per_month: int = 0,
) -> tuple[Any, str]:
    """Create a key; return ``(api_key, raw_key)``. The raw key is never stored.

    ``scopes=None`` means the type's ``default_scopes``; a type without them
    refuses (``scopes_required``): no key gets ``*`` unless asked for. Without
    ``expires_at`` the key expires after ``APIKEYS["DEFAULT_KEY_EXPIRY_DAYS"]``
    (:func:`default_expiry`); ``expires_at=None`` asks for a key that never
    expires. ``allowed_ips``
    (addresses and CIDR networks, see :mod:`django_apikeys.networks`)
    restricts where the key may be used from. ``model`` is the concrete key
    model (default: ``replaces``'s class, else
    :class:`~django_apikeys.models.APIKey`). Raises ``ValidationError`` as
    :func:`validate_key_request` does, and for a bad origin or network.
    """
    if model is None:
        model = type(replaces) if replaces is not None else APIKey
    if isinstance(expires_at, DefaultExpiry):
        expires_at = default_expiry()
    kt, requested = validate_key_request(
        organization=organization,
        key_type=key_type,
        user=user,
        created_by=created_by,
        scopes=scopes,
        expires_at=expires_at,
        rate_limit_per_minute=rate_limit_per_minute,
        rate_limit_per_day=rate_limit_per_day,
        environment=environment,
    )
    if not isinstance(name, str) or not name.strip():
        raise invalid("name", _("A key needs a name."), "name_required")
    if len(name) > NAME_LENGTH:
        raise invalid(
            "name",
            _("A key name has at most %(max)d characters.") % {"max": NAME_LENGTH},
            "name_too_long",
        )
    if remaining_uses is None:
        remaining_uses = kt.lifetime_quota
    _check_bounds(
        expires_at=None,
        rate_limit_per_minute=0,
        rate_limit_per_day=0,
        remaining_uses=remaining_uses,
    )
    origins = normalize_origins(allowed_origins)
    if len(origins) > MAX_ALLOWED_ORIGINS:
        raise invalid(
            "allowed_origins",
            _("A key allows at most %(max)d origins.") % {"max": MAX_ALLOWED_ORIGINS},
            "too_many_origins",
        )
    networks = normalize_networks(allowed_ips)

    sep = apikeys_settings.SEPARATOR
    raw_key = keys.generate(kt.prefix, sep, apikeys_settings.BODY_LENGTH)
    with transaction.atomic():
        api_key = model._default_manager.create(
            organization=organization,
            user=user,
            key_type=kt.name,
            name=name,
            hint=keys.display_hint(raw_key, sep),
            hashed_key=keys.hash_key(raw_key),
            scopes=requested,
            expires_at=expires_at,
            rate_limit_per_minute=rate_limit_per_minute,
            rate_limit_per_day=rate_limit_per_day,
            allowed_origins=origins,
            allowed_ips=networks,
            environment=environment,
            remaining_uses=remaining_uses,
            replaces=replaces,
            # Limits and quotas belong to the roll chain: a replacement counts
            # on its first key's counters, so rolling never doubles them.
            lineage=replaces.lineage_root_id if replaces is not None else None,
            rate_limit_per_month=max(int(rate_limit_per_month or 0), 0),
            created_by=created_by if getattr(created_by, "pk", None) else None,
        )
        if replaces is None:
            audit(
                organization,
                Action.KEY_CREATED,
                api_key,
                actor=created_by,
                ip_address=ip_address,
                details={"key_type": kt.name, "scopes": requested},
            )
            send_on_commit(
                signals.api_key_created, sender=model, api_key=api_key, actor=created_by
            )
    return api_key, raw_key


@sensitive_variables("raw_key")
def roll_key(
    api_key: KeyT,
    *,
    actor: Any = None,
    grace_period: datetime.timedelta | None = None,
    ip_address: str | None = None,
    compromised: bool = False,
) -> tuple[KeyT, str]:
    """Replace ``api_key`` with a new key of the same settings; return ``(new, raw)``.

    The new key keeps the type, owner, scopes, limits, origins and environment; an expiring
    key's replacement gets the same lifetime, counted from now. The old key
    keeps working for ``grace_period`` (default ``APIKEYS["ROLL_GRACE_PERIOD"]``
    seconds), then expires; a zero grace period revokes it at once. A key is
    rolled once (``already_rolled`` after that: roll the replacement).
    ``compromised=True`` (the key may have leaked) is recorded in the audit
    event; it implies no grace period unless one is given.
    """
    if grace_period is None and compromised:
        grace_period = datetime.timedelta(0)
    if grace_period is None:
        grace_period = datetime.timedelta(seconds=apikeys_settings.ROLL_GRACE_PERIOD)
    if grace_period < datetime.timedelta(0):
        raise ValidationError(_("The grace period cannot be negative."), code="invalid_grace")
    model = type(api_key)
    with transaction.atomic():
        old = model._default_manager.select_for_update().get(pk=api_key.pk)
        if not old.is_usable:
            raise ValidationError(_("Only an active key can be rolled."), code="key_not_active")
        if model._default_manager.filter(replaces=old).exists():
            raise ValidationError(
                _("This key has already been rolled: roll its replacement instead."),
                code="already_rolled",
            )
        now = timezone.now()
        # The replacement gets the old key's lifetime, counted from now, but
        # never past the old expiry's year limit (no OverflowError near 9999).
        expires_at = _same_lifetime_from(now, old) if old.expires_at else None
        new, raw_key = create_key(
            organization=old.organization,
            key_type=old.key_type,
            name=old.name,
            user=old.user,
            created_by=actor,
            scopes=old.scopes,
            expires_at=expires_at,
            rate_limit_per_minute=old.rate_limit_per_minute,
            rate_limit_per_day=old.rate_limit_per_day,
            allowed_origins=old.allowed_origins,
            allowed_ips=old.allowed_ips,
            environment=old.environment,
            remaining_uses=old.remaining_uses,
            rate_limit_per_month=old.rate_limit_per_month,
            replaces=old,
            ip_address=ip_address,
        )
        if grace_period:
            deadline = now + grace_period
            if old.expires_at is None or old.expires_at > deadline:
                old.expires_at = deadline
            old.save(update_fields=["expires_at"])
        else:
            old.is_active = False
            old.revoked_at = now
            old.revoked_by = actor if getattr(actor, "pk", None) else None
            old.save(update_fields=["is_active", "revoked_at", "revoked_by"])
        audit(
            old.organization,
            Action.KEY_ROLLED,
            new,
            actor=actor,
            ip_address=ip_address,
            details={
                "old_key": str(old.pk),
                "old_hint": old.hint,
                "grace_seconds": int(grace_period.total_seconds()),
                **({"compromised": True} if compromised else {}),
            },
        )
        send_on_commit(signals.api_key_rolled, sender=model, api_key=new, old_key=old, actor=actor)
    api_key.refresh_from_db()
    return new, raw_key


def _same_lifetime_from(now: datetime.datetime, old: AbstractAPIKey) -> datetime.datetime:
    assert old.expires_at is not None
    last = datetime.datetime(MAX_EXPIRY_YEAR, 12, 31, tzinfo=datetime.timezone.utc)
    lifetime = old.expires_at - old.created_at
    return last if lifetime >= last - now else now + lifetime


def revoke_key(
    api_key: AbstractAPIKey, *, actor: Any = None, ip_address: str | None = None
) -> bool:
    """Revoke ``api_key`` for good. Returns ``False`` if it was already revoked."""
    with transaction.atomic():
        now = timezone.now()
        updated = (
            type(api_key)
            ._default_manager.filter(pk=api_key.pk, is_active=True, revoked_at__isnull=True)
            .update(
                is_active=False,
                revoked_at=now,
                revoked_by=actor if getattr(actor, "pk", None) else None,
            )
        )
        api_key.refresh_from_db()
        if not updated:
            return False
        audit(
            api_key.organization, Action.KEY_REVOKED, api_key, actor=actor, ip_address=ip_address
        )
        send_on_commit(signals.api_key_revoked, sender=type(api_key), api_key=api_key, actor=actor)
        # QuerySet.update() sends no post_save: forget the cached lookup here.
        invalidate_on_commit(api_key)
    return True


def invalidate_on_commit(api_key: AbstractAPIKey) -> None:
    """Forget cached lookups of ``api_key`` once the change is committed (an outbox
    row in the current transaction, see :func:`django_apikeys.cache.record_invalidation`)."""
    cache.record_invalidation([api_key.hashed_key])


def revoke_keys(
    api_keys: Iterable[APIKey],
    *,
    actor: Any = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> list[APIKey]:
    """Revoke many keys at once; return those this call revoked (the others
    were revoked already).

    Bounded queries whatever the number of keys: one locking ``SELECT``, one
    ``UPDATE``, the audit events in one bulk insert (``details`` added to
    each); ``api_key_revoked`` per key and the lookup-cache invalidation go
    out on commit. Call it inside a transaction to make it part of a larger
    change.
    """
    ids = [api_key.pk for api_key in api_keys]
    if not ids:
        return []
    with transaction.atomic():
        now = timezone.now()
        targets = list(
            APIKey.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(pk__in=ids, is_active=True, revoked_at__isnull=True)
            .order_by()
        )
        if not targets:
            return []
        revoked_by = actor if getattr(actor, "pk", None) else None
        APIKey.objects.filter(pk__in=[key.pk for key in targets]).update(
            is_active=False, revoked_at=now, revoked_by=revoked_by
        )
        actor_id = getattr(revoked_by, "pk", None)
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    organization=key.organization,
                    actor_id=actor_id,
                    action=cast(str, AuditEvent.Action.KEY_REVOKED),
                    target_type=key._meta.model_name or "",
                    target_id=str(key.pk),
                    target_repr=str(key)[:255],
                    ip_address=ip_address or None,
                    details=dict(details or {}),
                    created_at=now,
                )
                for key in targets
            ]
        )
        for key in targets:
            key.is_active, key.revoked_at, key.revoked_by = False, now, revoked_by
            send_on_commit(signals.api_key_revoked, sender=APIKey, api_key=key, actor=actor)
        cache.record_invalidation([key.hashed_key for key in targets])
    return targets


def revoke_all_keys(
    organization: Organization,
    *,
    actor: Any = None,
    ip_address: str | None = None,
    reason: str = "",
) -> int:
    """The incident action: revoke every usable key of ``organization`` in one
    transaction; return how many. Leaves one ``org.keys_revoked_all`` audit
    event (with the count and ``reason``) besides each key's ``key.revoked``.
    Who may do it is the caller's to check (the dashboard: Owners only)."""
    with transaction.atomic():
        live = APIKey.objects.filter(
            organization=organization, is_active=True, revoked_at__isnull=True
        ).only("pk")
        revoked = revoke_keys(
            list(live), actor=actor, ip_address=ip_address, details={"incident": True}
        )
        audit(
            organization,
            Action.KEYS_REVOKED_ALL,
            organization,
            actor=actor,
            ip_address=ip_address,
            details={"count": len(revoked), **({"reason": reason[:500]} if reason else {})},
        )
    return len(revoked)
