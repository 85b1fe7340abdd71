"""The key and membership lifecycle: create, roll, revoke, resolve; members.

Views, admin and management commands call these functions and hold no key
logic of their own. Writes run in a transaction; signals go out on commit;
every change leaves an :class:`~django_apikeys.models.AuditEvent`.
"""

from __future__ import annotations

import datetime
import logging
import re
import time
import weakref
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from . import exceptions, keys, signals
from .conf import KeyType, apikeys_settings
from .models import APIKey, AuditEvent, Membership, Organization, Role
from .scopes import normalize_scopes, outside

logger = logging.getLogger("django_apikeys")

Action = AuditEvent.Action


# --- helpers ---------------------------------------------------------------


def membership_for(user: Any, organization: Organization | Any) -> Membership | None:
    """The user's membership in ``organization`` (with its role), or ``None``."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return None
    org_id = getattr(organization, "pk", organization)
    return (
        Membership.objects.select_related("role")
        .filter(user_id=user.pk, organization_id=org_id)
        .first()
    )


def _audit(
    organization: Organization,
    action: Any,  # an AuditEvent.Action member
    target: models.Model,
    *,
    actor: Any = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) and actor.pk else None
    return AuditEvent.objects.create(
        organization=organization,
        actor_id=actor_id,
        action=action,
        target_type=target._meta.model_name or "",
        target_id=str(target.pk),
        target_repr=str(target)[:255],
        ip_address=ip_address or None,
        details=details or {},
    )


def _invalid(field: str | None, message: Any, code: str) -> ValidationError:
    """A ``ValidationError`` whose code survives being attached to a form field."""
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error


_ORIGIN_RE = re.compile(r"^https?://[a-z0-9.\-]+(?::[0-9]{1,5})?$")


def normalize_origins(origins: Iterable[str] | None) -> list[str]:
    """Lowercase ``scheme://host[:port]`` origins, de-duplicated and sorted.

    Raises ``ValidationError`` (field ``allowed_origins``) for anything else.
    """
    result = set()
    for origin in origins or []:
        value = str(origin).strip().lower().rstrip("/")
        for scheme, port in (("https://", ":443"), ("http://", ":80")):
            if value.startswith(scheme) and value.endswith(port):
                value = value[: -len(port)]  # browsers leave the default port out
        if not _ORIGIN_RE.match(value):
            raise _invalid(
                "allowed_origins",
                _("“%(origin)s” is not an origin such as https://shop.example.")
                % {"origin": str(origin)[:100]},
                "invalid_origin",
            )
        result.add(value)
    return sorted(result)


def _send_on_commit(signal: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(**kwargs))


def allowed_scopes_for(user: Any, organization: Organization) -> list[str] | None:
    """The scopes ``user`` may put on a key in ``organization``.

    ``None`` means no ceiling (superusers, or no user: code and commands).
    An empty list means none: the user is not a member.
    """
    if user is None or getattr(user, "is_superuser", False):
        return None
    membership = membership_for(user, organization)
    return list(membership.role.scopes) if membership else []


# --- create / roll / revoke ------------------------------------------------


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
) -> tuple[KeyType, list[str]]:
    """Check a key request; return its key type and normalised scopes.

    Raises ``ValidationError`` (with field names where they apply) when the
    type is unknown, the owner does not fit the type, the scopes exceed the
    type's allowance or what ``created_by`` holds in the organization, or
    ``expires_at`` is in the past. Forms call this in ``clean()``.
    """
    kt = apikeys_settings.key_type(key_type)
    if kt is None:
        raise _invalid(
            "key_type", _("Unknown key type “%(type)s”.") % {"type": key_type}, "invalid_key_type"
        )
    if kt.user_owned and user is None:
        raise _invalid("user", _("A user key needs an owner."), "owner_required")
    if not kt.user_owned and user is not None:
        raise _invalid(
            "user", _("An organization key cannot belong to a user."), "owner_forbidden"
        )
    if (
        kt.user_owned
        and created_by is not None
        and not getattr(created_by, "is_superuser", False)
        and getattr(created_by, "pk", None) != getattr(user, "pk", None)
    ):
        # A user key acts with its owner's role: only the owner may mint one.
        raise _invalid(
            "user", _("You can only create user keys for yourself."), "owner_not_creator"
        )
    if kt.user_owned and membership_for(user, organization) is None:
        raise _invalid(
            "user", _("The key's owner must be a member of the organization."), "owner_not_member"
        )
    try:
        requested = normalize_scopes(kt.default_scopes if scopes is None else scopes)
    except ValidationError as exc:
        raise ValidationError({"scopes": exc.error_list}) from None
    beyond_type = outside(requested, kt.scopes)
    if beyond_type:
        raise _invalid(
            "scopes",
            _("A %(type)s key cannot carry: %(scopes)s.")
            % {"type": kt.label, "scopes": ", ".join(beyond_type)},
            "scope_not_allowed",
        )
    ceiling = allowed_scopes_for(created_by, organization)
    if ceiling is not None:
        beyond_creator = outside(requested, ceiling)
        if beyond_creator:
            raise _invalid(
                "scopes",
                _("You cannot grant scopes you do not hold: %(scopes)s.")
                % {"scopes": ", ".join(beyond_creator)},
                "scope_exceeds_creator",
            )
    if expires_at is not None and expires_at <= timezone.now():
        raise _invalid("expires_at", _("The expiry must be in the future."), "expiry_in_past")
    if rate_limit_per_minute < 0 or rate_limit_per_day < 0:
        raise ValidationError(_("Rate limits cannot be negative."), code="invalid_rate_limit")
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
    expires_at: datetime.datetime | None = None,
    rate_limit_per_minute: int = 0,
    rate_limit_per_day: int = 0,
    allowed_origins: Iterable[str] | None = None,
    remaining_uses: int | None = None,
    replaces: APIKey | None = None,
    ip_address: str | None = None,
) -> tuple[APIKey, str]:
    """Create a key; return ``(api_key, raw_key)``. The raw key is never stored.

    ``scopes=None`` means the type's default scopes. Raises
    ``ValidationError`` as :func:`validate_key_request` does.
    """
    kt, requested = validate_key_request(
        organization=organization,
        key_type=key_type,
        user=user,
        created_by=created_by,
        scopes=scopes,
        expires_at=expires_at,
        rate_limit_per_minute=rate_limit_per_minute,
        rate_limit_per_day=rate_limit_per_day,
    )
    if not name or not str(name).strip():
        raise _invalid("name", _("A key needs a name."), "name_required")
    if remaining_uses is None:
        remaining_uses = kt.lifetime_quota
    origins = normalize_origins(allowed_origins)

    sep = apikeys_settings.SEPARATOR
    raw_key = keys.generate(kt.prefix, sep, apikeys_settings.BODY_LENGTH)
    with transaction.atomic():
        api_key = APIKey.objects.create(
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
            remaining_uses=remaining_uses,
            replaces=replaces,
            created_by=created_by if getattr(created_by, "pk", None) else None,
        )
        if replaces is None:
            _audit(
                organization,
                Action.KEY_CREATED,
                api_key,
                actor=created_by,
                ip_address=ip_address,
                details={"key_type": kt.name, "scopes": requested},
            )
            _send_on_commit(
                signals.api_key_created, sender=APIKey, api_key=api_key, actor=created_by
            )
    return api_key, raw_key


@sensitive_variables("raw_key")
def roll_key(
    api_key: APIKey,
    *,
    actor: Any = None,
    grace_period: datetime.timedelta | None = None,
    ip_address: str | None = None,
) -> tuple[APIKey, str]:
    """Replace ``api_key`` with a new key of the same settings; return ``(new, raw)``.

    The new key keeps the type, owner, scopes, limits and origins; an expiring
    key's replacement gets the same lifetime, counted from now. The old key
    keeps working for ``grace_period`` (default ``APIKEYS["ROLL_GRACE_PERIOD"]``
    seconds), then expires; a zero grace period revokes it at once. A key is
    rolled once (``already_rolled`` after that: roll the replacement).
    """
    if grace_period is None:
        grace_period = datetime.timedelta(seconds=apikeys_settings.ROLL_GRACE_PERIOD)
    if grace_period < datetime.timedelta(0):
        raise ValidationError(_("The grace period cannot be negative."), code="invalid_grace")
    with transaction.atomic():
        old = APIKey.objects.select_for_update().get(pk=api_key.pk)
        if not old.is_usable:
            raise ValidationError(_("Only an active key can be rolled."), code="key_not_active")
        if APIKey.objects.filter(replaces=old).exists():
            raise ValidationError(
                _("This key has already been rolled: roll its replacement instead."),
                code="already_rolled",
            )
        now = timezone.now()
        # The replacement gets the old key's lifetime, counted from now.
        expires_at = now + (old.expires_at - old.created_at) if old.expires_at else None
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
            remaining_uses=old.remaining_uses,
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
        _audit(
            old.organization,
            Action.KEY_ROLLED,
            new,
            actor=actor,
            ip_address=ip_address,
            details={
                "old_key": str(old.pk),
                "old_hint": old.hint,
                "grace_seconds": int(grace_period.total_seconds()),
            },
        )
        _send_on_commit(
            signals.api_key_rolled, sender=APIKey, api_key=new, old_key=old, actor=actor
        )
    api_key.refresh_from_db()
    return new, raw_key


def revoke_key(api_key: APIKey, *, actor: Any = None, ip_address: str | None = None) -> bool:
    """Revoke ``api_key`` for good. Returns ``False`` if it was already revoked."""
    with transaction.atomic():
        now = timezone.now()
        updated = APIKey.objects.filter(
            pk=api_key.pk, is_active=True, revoked_at__isnull=True
        ).update(
            is_active=False,
            revoked_at=now,
            revoked_by=actor if getattr(actor, "pk", None) else None,
        )
        api_key.refresh_from_db()
        if not updated:
            return False
        _audit(
            api_key.organization, Action.KEY_REVOKED, api_key, actor=actor, ip_address=ip_address
        )
        _send_on_commit(signals.api_key_revoked, sender=APIKey, api_key=api_key, actor=actor)
        # QuerySet.update() sends no post_save: forget the cached lookup here.
        _invalidate_on_commit(api_key)
    return True


def _invalidate_on_commit(api_key: APIKey) -> None:
    """Forget cached lookups of ``api_key`` once the change is committed."""
    from . import cache

    digest = api_key.hashed_key
    transaction.on_commit(lambda: cache.invalidate(digest))


# --- resolve (the hot path) ------------------------------------------------


def _membership_subquery(field: str) -> Subquery:
    # No ORDER BY: (user, organization) is unique, and Membership's default
    # ordering would join Organization only to sort a single row.
    return Subquery(
        Membership.objects.filter(
            user_id=OuterRef("user_id"), organization_id=OuterRef("organization_id")
        )
        .order_by()
        .values(f"role__{field}")[:1],
        output_field=models.JSONField(),
    )


def key_queryset(model: type[APIKey] = APIKey) -> models.QuerySet[APIKey]:
    """The one query behind authentication: key, organization, plan and user,
    plus the owner's current role grants for user keys."""
    return model._default_manager.select_related(
        "organization", "organization__plan", "user"
    ).annotate(
        member_permissions=_membership_subquery("permissions"),
        member_scopes=_membership_subquery("scopes"),
    )


def _organization_key_queryset(model: type[APIKey] = APIKey) -> models.QuerySet[APIKey]:
    """:func:`key_queryset` for organization-owned key types: they have no user,
    so no user join and no membership subqueries (half the planning time on
    PostgreSQL)."""
    return model._default_manager.select_related("organization", "organization__plan")


class _Node(NamedTuple):
    """Where one model of the lookup sits in the row, and how it hangs off its parent."""

    model: type[models.Model]
    start: int
    end: int
    attnames: tuple[str, ...]
    pk_index: int
    local_setter: Any
    remote_setter: Any
    children: tuple[_Node, ...]


class _KeyLookup:
    """A key queryset filtered by hash, compiled to SQL once per connection.

    Compiling the lookup (up to four tables and two correlated subqueries)
    costs the ORM several times more than the database takes to run it, and
    its SQL never changes. So the SQL, the column converters and the row
    layout are worked out once by the ORM's own compiler; each lookup runs
    that SQL and builds the instances as ``QuerySet`` does (converters,
    ``Model.from_db``, select_related caches, annotations): the same query
    and the same objects, without compiling.
    """

    _PLACEHOLDER = "apikeys-hashed-key-placeholder"

    def __init__(self, queryset: models.QuerySet[APIKey], connection: BaseDatabaseWrapper) -> None:
        # hashed_key is unique: no ORDER BY (``first()`` would sort by -created_at).
        queryset = queryset.filter(hashed_key=self._PLACEHOLDER).order_by()[:1]
        compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slot = self.params.index(self._PLACEHOLDER)
        select = compiler.select[: compiler.col_count]
        self.converters = list(compiler.get_converters([s[0] for s in select]).items())
        self.annotations = tuple((compiler.annotation_col_map or {}).items())
        self.root = self._node(compiler.klass_info, compiler.select)
        self.alias = connection.alias

    @classmethod
    def _node(cls, klass_info: dict[str, Any], select: list[Any]) -> _Node:
        if klass_info.get("from_parent"):
            raise NotImplementedError("multi-table inheritance in select_related")
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        attnames = tuple(s[0].target.attname for s in select[start:end])
        model = klass_info["model"]
        return _Node(
            model,
            start,
            end,
            attnames,
            attnames.index(model._meta.pk.attname),
            klass_info.get("local_setter"),
            klass_info.get("remote_setter"),
            tuple(cls._node(k, select) for k in klass_info.get("related_klass_infos", ())),
        )

    def fetch(self, connection: BaseDatabaseWrapper, hashed_key: str) -> APIKey | None:
        params = self.params.copy()
        params[self.slot] = hashed_key
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for pos, (converters, expression) in self.converters:
            value = row[pos]
            for converter in converters:
                value = converter(value, expression, connection)
            row[pos] = value
        api_key = self._build(self.root, row)
        for name, pos in self.annotations:
            setattr(api_key, name, row[pos])
        return api_key  # type: ignore[return-value]

    def _build(self, node: _Node, row: list[Any]) -> models.Model | None:
        values = row[node.start : node.end]
        if values[node.pk_index] is None:  # LEFT JOIN found nothing (no plan, no user)
            return None
        obj = node.model.from_db(self.alias, node.attnames, values)
        for child in node.children:
            related = self._build(child, row)
            child.local_setter(obj, related)
            if related is not None:
                child.remote_setter(related, obj)
        return obj


#: Compiled lookups per connection (one per thread), full and organization-only.
_lookups: weakref.WeakKeyDictionary[
    BaseDatabaseWrapper, dict[tuple[type[APIKey], bool], _KeyLookup | None]
] = weakref.WeakKeyDictionary()


def _load_key(
    hashed_key: str, user_owned: bool = True, model: type[APIKey] = APIKey
) -> APIKey | None:
    # Building the queryset alone costs as much as running it: only on a miss.
    queryset_for = key_queryset if user_owned else _organization_key_queryset
    connection = connections[router.db_for_read(model)]
    compiled = _lookups.setdefault(connection, {})
    variant = (model, user_owned)
    if variant not in compiled:
        try:
            compiled[variant] = _KeyLookup(queryset_for(model), connection)
        except NotImplementedError:
            compiled[variant] = None  # an unusual schema: let the QuerySet do the work
    lookup = compiled[variant]
    if lookup is None:
        queryset = queryset_for(model).filter(hashed_key=hashed_key).order_by()
        api_key = next(iter(queryset[:1]), None)
    else:
        api_key = lookup.fetch(connection, hashed_key)
    if api_key is not None and not user_owned:
        if api_key.user_id is not None:
            # A user on an organization-type key: let the full query judge it.
            return _load_key(hashed_key, True, model)
        api_key.member_permissions = api_key.member_scopes = None
    return api_key


def fetch_key(
    hashed_key: str, key_type: str | None = None, model: type[APIKey] = APIKey
) -> APIKey | None:
    """Load a key by hash: from the lookup cache when enabled, else one query.

    ``key_type``, known from the key's prefix, lets organization-owned types
    skip the user join and membership subqueries; the result is the same.
    """
    from . import cache

    kt = apikeys_settings.key_type(key_type) if key_type is not None else None
    user_owned = kt is None or kt.user_owned
    return cache.fetch(hashed_key, lambda: _load_key(hashed_key, user_owned, model))


@sensitive_variables("raw_key", "parsed")
def resolve_key(raw_key: str, model: type[APIKey] = APIKey) -> APIKey:
    """Authenticate ``raw_key`` and return its ``APIKey``, or raise with a code.

    Bad format or checksum: ``InvalidKey`` without touching the database.
    Otherwise one indexed lookup (none on a warm lookup cache), then the
    active / revoked / expired / membership checks, then at most one
    conditional ``last_used`` UPDATE per key per interval.
    """
    parsed = apikeys_settings.parser(raw_key)
    if parsed is None:
        raise exceptions.InvalidKey()
    api_key = fetch_key(keys.hash_key(raw_key), parsed.key_type, model)
    if api_key is None or api_key.key_type != parsed.key_type:
        raise exceptions.InvalidKey()
    if not api_key.is_active or api_key.revoked_at is not None:
        raise exceptions.KeyRevoked()
    now = timezone.now()
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise exceptions.KeyExpired()
    # member_permissions is annotated by the lookup (None: no membership now).
    if api_key.user_id is not None:
        if getattr(api_key, "member_permissions", None) is None:
            raise exceptions.KeyRevoked(
                _("The key's owner is no longer a member of its organization.")
            )
        if api_key.user is None or not api_key.user.is_active:
            raise exceptions.KeyRevoked(_("The key's owner is no longer an active user."))
    touch_last_used(api_key, now)
    return api_key


#: hashed key -> (the stale ``last_used`` seen, monotonic time of that claim attempt)
_last_used_attempts: dict[str, tuple[datetime.datetime | None, float]] = {}
_LAST_USED_ATTEMPTS_MAX = 10_000


def touch_last_used(api_key: APIKey, now: datetime.datetime) -> None:
    """Write ``last_used`` at most once per key per ``LAST_USED_INTERVAL``.

    The in-memory value decides whether to try; a cache ``add`` lets one
    process claim the write and the conditional UPDATE settles any race. A
    key served from the lookup cache keeps the ``last_used`` it was cached
    with, so each process also remembers that it already tried for that
    stale value: no cache round trip per request for it.
    """
    seconds = apikeys_settings.LAST_USED_INTERVAL
    threshold = now - datetime.timedelta(seconds=seconds)
    last_used = api_key.last_used
    if last_used is not None and last_used > threshold:
        return
    tick = time.monotonic()
    attempt = _last_used_attempts.get(api_key.hashed_key)
    if attempt is not None and attempt[0] == last_used and tick - attempt[1] < seconds:
        return
    if len(_last_used_attempts) >= _LAST_USED_ATTEMPTS_MAX:
        _last_used_attempts.clear()  # bounded memory; the worst case is one extra claim
    _last_used_attempts[api_key.hashed_key] = (last_used, tick)
    from . import cache

    if not cache.claim_last_used(api_key.hashed_key, seconds):
        return
    APIKey.objects.filter(pk=api_key.pk).filter(
        models.Q(last_used__isnull=True) | models.Q(last_used__lte=threshold)
    ).update(last_used=now)
    api_key.last_used = now


# --- members ---------------------------------------------------------------


def _role_permissions(role: Role) -> set[str]:
    return set(role.permissions)


def can_grant_role(actor: Any, organization: Organization, role: Role) -> bool:
    """An actor may grant only roles whose permissions and scopes they hold themselves."""
    if getattr(actor, "is_superuser", False):
        return True
    membership = membership_for(actor, organization)
    return (
        membership is not None
        and _role_permissions(role) <= _role_permissions(membership.role)
        and not outside(role.scopes, membership.role.scopes)
    )


def _owner_count(organization: Organization) -> int:
    return Membership.objects.filter(
        organization=organization, role__name=apikeys_settings.OWNER_ROLE
    ).count()


def add_member(
    organization: Organization,
    user: Any,
    role: Role,
    *,
    actor: Any = None,
    ip_address: str | None = None,
) -> Membership:
    if actor is not None and not can_grant_role(actor, organization, role):
        raise _invalid(
            "role", _("You cannot grant a role with more rights than your own."), "role_too_high"
        )
    with transaction.atomic():
        if Membership.objects.filter(organization=organization, user=user).exists():
            raise _invalid("user", _("This user is already a member."), "already_member")
        membership = Membership.objects.create(organization=organization, user=user, role=role)
        _audit(
            organization,
            Action.MEMBER_ADDED,
            membership,
            actor=actor,
            ip_address=ip_address,
            details={"user": str(user), "role": role.name},
        )
        _send_on_commit(
            signals.membership_changed,
            sender=Membership,
            membership=membership,
            organization=organization,
            user=user,
            action="added",
            actor=actor,
        )
    return membership


def _is_last_owner(membership: Membership) -> bool:
    return (
        membership.role.name == apikeys_settings.OWNER_ROLE
        and _owner_count(membership.organization) <= 1
    )


def change_role(
    membership: Membership,
    role: Role,
    *,
    actor: Any = None,
    ip_address: str | None = None,
) -> Membership:
    organization = membership.organization
    if actor is not None and not (
        can_grant_role(actor, organization, role)
        and can_grant_role(actor, organization, membership.role)
    ):
        raise _invalid(
            "role", _("You cannot change a role with more rights than your own."), "role_too_high"
        )
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update().select_related("role").get(pk=membership.pk)
        )
        if role.name != apikeys_settings.OWNER_ROLE and _is_last_owner(membership):
            raise _invalid(
                "role", _("An organization must keep at least one Owner."), "last_owner"
            )
        old_role = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        _audit(
            organization,
            Action.MEMBER_ROLE_CHANGED,
            membership,
            actor=actor,
            ip_address=ip_address,
            details={"from": old_role.name, "to": role.name},
        )
        _send_on_commit(
            signals.membership_changed,
            sender=Membership,
            membership=membership,
            organization=organization,
            user=membership.user,
            action="role_changed",
            actor=actor,
        )
    return membership


def remove_member(
    membership: Membership, *, actor: Any = None, ip_address: str | None = None
) -> None:
    organization = membership.organization
    if actor is not None and not can_grant_role(actor, organization, membership.role):
        raise ValidationError(
            _("You cannot remove a member whose role has more rights than your own."),
            code="role_too_high",
        )
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .select_related("role", "user")
            .get(pk=membership.pk)
        )
        if _is_last_owner(membership):
            raise ValidationError(
                _("An organization must keep at least one Owner."), code="last_owner"
            )
        _audit(
            organization,
            Action.MEMBER_REMOVED,
            membership,
            actor=actor,
            ip_address=ip_address,
            details={"user": str(membership.user), "role": membership.role.name},
        )
        user = membership.user
        membership.delete()
        _send_on_commit(
            signals.membership_changed,
            sender=Membership,
            membership=membership,
            organization=organization,
            user=user,
            action="removed",
            actor=actor,
        )
