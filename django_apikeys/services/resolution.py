"""Resolution, the hot path: from a raw key to an authenticated ``APIKey``.

A malformed key is refused without touching the database; a well-formed one
costs one indexed query (none on a warm lookup cache, see :mod:`..cache`),
compiled once per connection by :mod:`django_apikeys._compiled_lookup`.
"""

from __future__ import annotations

import datetime
import time
from typing import Any, TypeVar

from django.db import connections, models, router
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from .. import _compiled_lookup, cache, exceptions, keys
from ..abstract import AbstractAPIKey
from ..conf import apikeys_settings
from ..models import APIKey
from ..networks import valid_ip


def key_queryset(model: type[AbstractAPIKey] = APIKey) -> models.QuerySet[AbstractAPIKey]:
    """The one query behind authentication: key, organization, plan and user,
    plus the owner's current role grants for user keys.

    The grants come from one LEFT JOIN on the owner's membership of the key's
    organization (``(user, organization)`` is unique) and its role, read live
    on every lookup. It runs faster than two correlated subqueries did (on
    PostgreSQL it plans a little slower, which prepared statements make
    moot; see ``docs/performance.rst``). No membership (or no user): both
    grants are ``None``.
    """
    return with_owner_grants(
        model._default_manager.select_related("organization", "organization__plan", "user")
    )


_Q = TypeVar("_Q", bound=models.QuerySet[Any])


def with_owner_grants(queryset: _Q) -> _Q:
    """``queryset`` (of rows with ``user`` and ``organization``) annotated with
    the user's current role grants in that organization, ``member_permissions``
    and ``member_scopes``: one LEFT JOIN on the membership and its role, both
    ``None`` without a membership. Shared by API keys and OAuth grants."""
    return queryset.annotate(
        _owner_membership=FilteredRelation(
            "user__apikeys_memberships",
            condition=Q(user__apikeys_memberships__organization_id=F("organization_id")),
        )
    ).annotate(
        member_permissions=F("_owner_membership__role__permissions"),
        member_scopes=F("_owner_membership__role__scopes"),
    )


def _load_key(hashed_key: str, model: type[AbstractAPIKey] = APIKey) -> AbstractAPIKey | None:
    # Building the queryset alone costs as much as running it: only on a miss.
    connection = connections[router.db_for_read(model)]
    lookup = _compiled_lookup.lookup_for(connection, model, lambda: key_queryset(model))
    if lookup is None:
        queryset = key_queryset(model).filter(hashed_key=hashed_key).order_by()
        return next(iter(queryset[:1]), None)
    result: AbstractAPIKey | None = lookup.fetch(connection, hashed_key)
    return result


def fetch_key(
    hashed_key: str, key_type: str | None = None, model: type[AbstractAPIKey] = APIKey
) -> AbstractAPIKey | None:
    """Load a key by hash: from the lookup cache when enabled, else one query.

    Every key type runs the same query (``key_type`` is accepted for
    compatibility and not needed): with prepared statements on PostgreSQL
    a narrower query for organization-owned types saves nothing measurable,
    see ``docs/performance.rst``.
    """
    return cache.fetch(hashed_key, lambda: _load_key(hashed_key, model))


@sensitive_variables("raw_key", "parsed")
def resolve_key(
    raw_key: str, model: type[AbstractAPIKey] = APIKey, ip_address: str | None = None
) -> AbstractAPIKey:
    """Authenticate ``raw_key`` and return its ``APIKey``, or raise with a code.

    Bad format or checksum: ``InvalidKey`` without touching the database.
    Otherwise one indexed lookup (none on a warm lookup cache), then the
    active / revoked / expired / membership checks, then at most one
    conditional ``last_used`` UPDATE per key per interval (with
    ``ip_address`` as ``last_used_ip``).
    """
    parsed = apikeys_settings.parser(raw_key)
    if parsed is None:
        raise exceptions.InvalidKey()
    api_key = fetch_key(keys.hash_key(raw_key), parsed.key_type, model)
    if api_key is None or api_key.key_type != parsed.key_type:
        raise exceptions.InvalidKey()
    if not api_key.is_active or api_key.revoked_at is not None:
        raise exceptions.KeyRevoked()
    if api_key.organization.deactivated_at is not None:
        raise exceptions.OrganizationDeactivated()
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
    touch_last_used(api_key, now, ip_address)
    return api_key


#: hashed key -> (the stale ``last_used`` seen, monotonic time of that claim attempt)
_last_used_attempts: dict[str, tuple[datetime.datetime | None, float]] = {}
_LAST_USED_ATTEMPTS_MAX = 10_000


def claim_last_used_write(
    ident: str, last_used: datetime.datetime | None, threshold: datetime.datetime, seconds: int
) -> bool:
    """Whether this request writes ``last_used`` for the credential ``ident``:
    not when the in-memory value is newer than ``threshold``, nor when this
    process already tried for the same stale value within ``seconds`` (a
    credential served from the lookup cache keeps the ``last_used`` it was
    cached with: no cache round trip per request for it); else the cache
    ``add`` that lets one process claim the write."""
    if last_used is not None and last_used > threshold:
        return False
    tick = time.monotonic()
    attempt = _last_used_attempts.get(ident)
    if attempt is not None and attempt[0] == last_used and tick - attempt[1] < seconds:
        return False
    if len(_last_used_attempts) >= _LAST_USED_ATTEMPTS_MAX:
        _last_used_attempts.clear()  # bounded memory; the worst case is one extra claim
    _last_used_attempts[ident] = (last_used, tick)
    return cache.claim_last_used(ident, seconds)


def touch_last_used(
    api_key: AbstractAPIKey, now: datetime.datetime, ip_address: str | None = None
) -> None:
    """Write ``last_used`` (and ``last_used_ip``) at most once per key per
    ``LAST_USED_INTERVAL``.

    The in-memory value decides whether to try; a cache ``add`` lets one
    process claim the write and the conditional UPDATE settles any race. A
    key served from the lookup cache keeps the ``last_used`` it was cached
    with, so each process also remembers that it already tried for that
    stale value: no cache round trip per request for it.
    """
    seconds = apikeys_settings.LAST_USED_INTERVAL
    threshold = now - datetime.timedelta(seconds=seconds)
    if not claim_last_used_write(api_key.hashed_key, api_key.last_used, threshold, seconds):
        return
    type(api_key)._default_manager.filter(pk=api_key.pk).filter(
        models.Q(last_used__isnull=True) | models.Q(last_used__lte=threshold)
    ).update(last_used=now, last_used_ip=valid_ip(ip_address))
    api_key.last_used = now
