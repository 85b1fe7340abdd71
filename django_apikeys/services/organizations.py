"""Organizations people run themselves: create, change, hand over, delete, purge.

Who may create one is ``APIKEYS["ORGANIZATION_CREATION"]``; slugs are checked
by :func:`validate_slug` (format, reserved words, unique). Deleting an
organization *deactivates* it: from the next request on, in every process,
its keys are refused with ``organization_deactivated`` (the check is in
:func:`~django_apikeys.services.resolution.resolve_key`, the cached lookups
are dropped on commit) and its members no longer see it. The audit log stays
until :func:`purge_organizations` removes the organization for good after
``APIKEYS["ORGANIZATION_RETENTION"]`` seconds.

Membership rules (last Owner, escalation) are those of :mod:`.members`.
"""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_slug as django_validate_slug
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from .. import cache, signals
from ..abstract import NAME_LENGTH
from ..conf import apikeys_settings
from ..models import APIKey, AuditEvent, Invitation, Membership, Organization, Role
from ._common import audit, invalid, membership_for, send_on_commit
from .members import _lock_owners, change_role

Action = AuditEvent.Action

#: URL words of the dashboard itself; never available as slugs.
APP_RESERVED_SLUGS = frozenset({"new", "invitations"})


_RATE_RE = re.compile(r"^\d+/\d*[smhd]$")


def creation_rule() -> Any:
    """``APIKEYS["ORGANIZATION_CREATION"]`` resolved: ``"all"``, ``"staff"`` or a callable.

    Raises ``ImproperlyConfigured`` for anything else (the system check
    ``django_apikeys.E001`` reports it at start-up).
    """
    rule = apikeys_settings.ORGANIZATION_CREATION
    if rule in ("all", "staff") or callable(rule):
        return rule
    if isinstance(rule, str):
        try:
            rule = import_string(rule)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"APIKEYS['ORGANIZATION_CREATION'] {rule!r} cannot be imported: {exc}"
            ) from None
        if callable(rule):
            return rule
    raise ImproperlyConfigured(
        "APIKEYS['ORGANIZATION_CREATION'] must be 'all', 'staff', or a callable "
        "(or its import path) taking the user."
    )


def check_settings() -> None:
    """Raise ``ImproperlyConfigured`` if the organization settings cannot work."""
    creation_rule()
    rate = apikeys_settings.INVITATION_RATE
    if not isinstance(rate, str) or not _RATE_RE.match(rate):
        raise ImproperlyConfigured(
            f"APIKEYS['INVITATION_RATE'] {rate!r} is not a django-ratelimit rate such as '20/h'."
        )
    for name in ("INVITATION_EXPIRY", "ORGANIZATION_RETENTION"):
        value = getattr(apikeys_settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ImproperlyConfigured(f"APIKEYS[{name!r}] must be a number of seconds (>= 0).")


def may_create_organization(user: Any) -> bool:
    """Whether ``user`` may create an organization in the dashboard.

    ``APIKEYS["ORGANIZATION_CREATION"]``: ``"all"`` (every signed-in user,
    the default), ``"staff"``, or a callable (or its import path) taking the
    user and returning a bool. Anonymous users never may.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    rule = creation_rule()
    if rule == "all":
        return True
    if rule == "staff":
        return bool(getattr(user, "is_staff", False))
    return bool(rule(user))


def _reserved_slugs() -> set[str]:
    reserved = {str(s).lower() for s in apikeys_settings.RESERVED_SLUGS} | APP_RESERVED_SLUGS
    if apikeys_settings.PLAYGROUND_KEY_TYPE:  # anonymous visitors' keys land there
        reserved.add(str(apikeys_settings.PLAYGROUND_ORGANIZATION).lower())
    return reserved


def validate_slug(slug: str, *, instance: Organization | None = None) -> str:
    """Return ``slug`` lowercased, or raise ``ValidationError`` on ``slug``.

    Letters, digits, hyphens and underscores; not a reserved word; not shaped
    like a UUID (the organization header takes either); not taken by another
    organization, deleted ones included until they are purged.
    """
    value = (slug or "").strip().lower()
    if not value:
        raise invalid("slug", _("Enter a slug."), "required")
    if len(value) > NAME_LENGTH:
        raise invalid(
            "slug",
            _("At most %(max)s characters.") % {"max": NAME_LENGTH},
            "max_length",
        )
    try:
        django_validate_slug(value)
    except ValidationError:
        raise invalid(
            "slug",
            _("Use only letters, digits, hyphens and underscores."),
            "invalid_slug",
        ) from None
    if value in _reserved_slugs():
        raise invalid("slug", _("“%(slug)s” is reserved.") % {"slug": value}, "reserved_slug")
    try:
        uuid.UUID(value)
    except ValueError:
        pass
    else:
        raise invalid("slug", _("A slug cannot look like an id."), "uuid_slug")
    taken = Organization.objects.filter(slug=value)
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if taken.exists():
        raise invalid("slug", _("This slug is taken."), "slug_taken")
    return value


def suggest_slug(name: str) -> str:
    """A slug for ``name``: its slugified form, or ``org`` if nothing is left."""
    return slugify(name)[:NAME_LENGTH].strip("-") or "org"


def _clean_name(name: str) -> str:
    value = (name or "").strip()
    if not value:
        raise invalid("name", _("Enter a name."), "required")
    if len(value) > NAME_LENGTH:
        raise invalid(
            "name", _("At most %(max)s characters.") % {"max": NAME_LENGTH}, "max_length"
        )
    return value


def owner_role() -> Role:
    """The role named ``APIKEYS["OWNER_ROLE"]``."""
    try:
        return Role.objects.get(name=apikeys_settings.OWNER_ROLE)
    except Role.DoesNotExist:
        raise ValidationError(
            _("The Owner role “%(name)s” does not exist; ask an administrator.")
            % {"name": apikeys_settings.OWNER_ROLE},
            code="no_owner_role",
        ) from None


def create_organization(
    *, name: str, slug: str | None = None, owner: Any, ip_address: str | None = None
) -> Organization:
    """Create an organization with ``owner`` as its Owner, in one transaction.

    ``slug`` defaults to the slugified name. Raises ``ValidationError``
    (``name``/``slug`` fields) on bad input and ``not_allowed`` when
    :func:`may_create_organization` says no.
    """
    if not may_create_organization(owner):
        raise ValidationError(_("You may not create organizations."), code="not_allowed")
    clean_name = _clean_name(name)
    role = owner_role()
    with transaction.atomic():
        clean_slug = validate_slug(slug if slug else suggest_slug(clean_name))
        organization = Organization.objects.create(name=clean_name, slug=clean_slug)
        membership = Membership.objects.create(organization=organization, user=owner, role=role)
        audit(
            organization,
            Action.ORGANIZATION_CREATED,
            organization,
            actor=owner,
            ip_address=ip_address,
            details={"name": clean_name, "slug": clean_slug},
        )
        send_on_commit(
            signals.organization_created,
            sender=Organization,
            organization=organization,
            actor=owner,
        )
        send_on_commit(
            signals.membership_changed,
            sender=Membership,
            membership=membership,
            organization=organization,
            user=owner,
            action="added",
            actor=owner,
        )
    return organization


def update_organization(
    organization: Organization,
    *,
    name: str,
    slug: str,
    actor: Any = None,
    ip_address: str | None = None,
) -> dict[str, tuple[str, str]]:
    """Rename and/or re-slug; return the changes (field -> ``(old, new)``).

    Dashboard links name organizations by id and keep working; a client that
    names the organization by its old slug (header or URL) names nothing.
    """
    clean_name = _clean_name(name)
    with transaction.atomic():
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        clean_slug = validate_slug(slug, instance=locked)
        changes = {
            field: (getattr(locked, field), value)
            for field, value in (("name", clean_name), ("slug", clean_slug))
            if getattr(locked, field) != value
        }
        if not changes:
            return {}
        for field, (_old, new) in changes.items():
            setattr(locked, field, new)
        locked.save(update_fields=list(changes))
        audit(
            locked,
            Action.ORGANIZATION_UPDATED,
            locked,
            actor=actor,
            ip_address=ip_address,
            details={field: list(pair) for field, pair in changes.items()},
        )
        send_on_commit(
            signals.organization_updated,
            sender=Organization,
            organization=locked,
            actor=actor,
            changes=changes,
        )
    organization.name, organization.slug = locked.name, locked.slug
    return changes


def _forget_keys_on_commit(organization: Organization) -> None:
    digests = list(
        APIKey.objects.filter(organization=organization).values_list("hashed_key", flat=True)
    )
    if digests:
        transaction.on_commit(lambda: cache.invalidate_many(digests))


def delete_organization(
    organization: Organization, *, actor: Any = None, ip_address: str | None = None
) -> bool:
    """Delete (deactivate) ``organization`` at once; ``False`` if it already was.

    Its keys are refused from the next request in every process
    (``organization_deactivated``), its pending invitations are revoked and
    its members no longer see it; the data, audit log included, stays until
    :func:`purge_organizations`.
    """
    with transaction.atomic():
        now = timezone.now()
        updated = Organization.objects.filter(
            pk=organization.pk, deactivated_at__isnull=True
        ).update(
            deactivated_at=now,
            deactivated_by=actor if getattr(actor, "pk", None) else None,
        )
        if not updated:
            return False
        organization.refresh_from_db()
        Invitation.objects.filter(
            organization=organization,
            accepted_at__isnull=True,
            declined_at__isnull=True,
            revoked_at__isnull=True,
        ).update(revoked_at=now)
        audit(
            organization,
            Action.ORGANIZATION_DELETED,
            organization,
            actor=actor,
            ip_address=ip_address,
            details={"slug": organization.slug},
        )
        # update() sends no post_save: drop the cached lookups here, both the
        # organization's keys and (through the generation) everything else,
        # with an outbox row in this transaction, so that the deletion holds
        # in every process even if the cache misses the invalidation or comes
        # back from a snapshot taken before it.
        _forget_keys_on_commit(organization)
        cache.record_invalidation(None)
        send_on_commit(
            signals.organization_deleted,
            sender=Organization,
            organization=organization,
            actor=actor,
        )
    return True


def purge_organizations(
    *, now: datetime.datetime | None = None, dry_run: bool = False
) -> list[tuple[Any, str]]:
    """Remove organizations deleted more than ``ORGANIZATION_RETENTION`` ago.

    Returns ``(id, slug)`` of each one removed (or, with ``dry_run``, due).
    Each organization goes in its own transaction, its row locked with
    ``SKIP LOCKED`` where the database has it, so two runs at once (cron
    overlap) never purge the same one twice or wait on each other, and a
    failure leaves the others done. Safe to run at any time: nothing due,
    nothing done.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=apikeys_settings.ORGANIZATION_RETENTION)
    due = list(
        Organization.objects.filter(deactivated_at__lte=cutoff)
        .order_by("deactivated_at")
        .values_list("pk", "slug")
    )
    if dry_run:
        return due
    purged: list[tuple[Any, str]] = []
    for pk, slug in due:
        with transaction.atomic():
            locked = (
                Organization.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, deactivated_at__lte=cutoff)
                .first()
            )
            if locked is None:  # reactivated, or another run has it
                continue
            _forget_keys_on_commit(locked)
            locked.delete()
            send_on_commit(
                signals.organization_purged, sender=Organization, organization_id=pk, slug=slug
            )
        purged.append((pk, slug))
    return purged


def transfer_ownership(
    organization: Organization,
    to_membership: Membership,
    *,
    actor: Any,
    new_role: Role,
    ip_address: str | None = None,
) -> Membership:
    """Make ``to_membership`` an Owner and give the acting Owner ``new_role``.

    Only an Owner may hand over; the target must be another member of the
    same organization who is not an Owner yet. Both role changes go through
    :func:`change_role` in one transaction, so the last-Owner and
    escalation rules hold throughout: there is an Owner at every moment.
    """
    role = owner_role()
    with transaction.atomic():
        _lock_owners(organization)  # first, in the order change_role takes them
        mine = membership_for(actor, organization)
        if mine is None or mine.role.name != apikeys_settings.OWNER_ROLE:
            raise ValidationError(_("Only an Owner can transfer ownership."), code="not_owner")
        target = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("role", "user")
            .filter(pk=to_membership.pk, organization=organization)
            .first()
        )
        if target is None or target.pk == mine.pk:
            raise invalid("member", _("Choose another member of this organization."), "bad_member")
        if target.role.name == apikeys_settings.OWNER_ROLE:
            raise invalid("member", _("This member is already an Owner."), "already_owner")
        change_role(target, role, actor=actor, ip_address=ip_address)
        if new_role.name != apikeys_settings.OWNER_ROLE:
            change_role(mine, new_role, actor=actor, ip_address=ip_address)
        audit(
            organization,
            Action.OWNERSHIP_TRANSFERRED,
            target,
            actor=actor,
            ip_address=ip_address,
            details={
                "from": str(actor),
                "to": str(target.user),
                "former_owner_role": new_role.name,
            },
        )
        send_on_commit(
            signals.ownership_transferred,
            sender=Organization,
            organization=organization,
            from_user=actor,
            to_user=target.user,
            actor=actor,
        )
    target.refresh_from_db()
    return target
