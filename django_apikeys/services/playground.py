"""Playground keys: a read-only test key for an anonymous visitor (test-tier reference product).

A visitor is known by the keyed hash of the client fingerprint they send
(the raw fingerprint is never stored). The first key of a fingerprint gets
the key type's full lifetime quota; every later key for the same
fingerprint replaces the previous one (which is revoked) and carries over
what is left of its quota, so asking again never buys a new quota. The
rate limits per fingerprint, IP and overall live in the view
(:mod:`django_apikeys.playground`).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from ..conf import KeyType, apikeys_settings
from ..models import APIKey, Invitation, Membership, Organization, PlaygroundGrant
from .lifecycle import create_key, revoke_key

KEY_SALT = "django_apikeys.playground.fingerprint"
KEY_NAME = "Playground"


def playground_key_type() -> KeyType | None:
    """The key type the playground issues, ``None`` when the playground is off.

    Raises ``ImproperlyConfigured`` for a type that is unknown, not read-only
    or without a lifetime quota (system check ``django_apikeys.E003`` says so
    at start-up).
    """
    name = apikeys_settings.PLAYGROUND_KEY_TYPE
    if not name:
        return None
    kt = apikeys_settings.key_type(name)
    if kt is None or not kt.read_only or not kt.lifetime_quota:
        raise ImproperlyConfigured(
            f"APIKEYS['PLAYGROUND_KEY_TYPE'] = {name!r} must name a read-only key type "
            "with a lifetime_quota."
        )
    return kt


@sensitive_variables("fingerprint")
def hash_fingerprint(fingerprint: str) -> str:
    """The stored form of a client fingerprint: HMAC-SHA-256 keyed by ``SECRET_KEY``."""
    return salted_hmac(KEY_SALT, fingerprint, algorithm="sha256").hexdigest()


class PlaygroundOrganizationTaken(Exception):
    """The ``PLAYGROUND_ORGANIZATION`` slug names an organization people belong to."""


def playground_organization() -> Organization:
    """The organization that owns playground keys (created on first use).

    Its slug is reserved while the playground is on (``validate_slug``), and
    an organization with that slug that has members or invitations is
    somebody's own (created before the playground was turned on, or by an
    operator): the playground never puts anonymous visitors' keys and
    addresses there and raises ``PlaygroundOrganizationTaken`` instead.
    """
    slug = apikeys_settings.PLAYGROUND_ORGANIZATION
    organization, created = Organization.objects.get_or_create(
        slug=slug, defaults={"name": slug.replace("-", " ").title()}
    )
    if not created and (
        Membership.objects.filter(organization=organization).exists()
        or Invitation.objects.filter(organization=organization).exists()
    ):
        raise PlaygroundOrganizationTaken(
            f"The organization {slug!r} has members: it is not the playground's. "
            "Set APIKEYS['PLAYGROUND_ORGANIZATION'] to a slug nobody uses."
        )
    return organization


@sensitive_variables("raw_key", "fingerprint")
def issue_playground_key(fingerprint: str, *, ip_address: str | None = None) -> tuple[APIKey, str]:
    """Issue a playground key for ``fingerprint``; return ``(api_key, raw_key)``.

    Raises ``ValidationError`` with code ``quota_exhausted`` when the
    fingerprint's quota is spent (or its key was revoked or deleted by an
    operator): no key is issued then.
    """
    kt = playground_key_type()
    if kt is None:
        raise ImproperlyConfigured("The playground is off (APIKEYS['PLAYGROUND_KEY_TYPE']).")
    organization = playground_organization()
    digest = hash_fingerprint(fingerprint)
    with transaction.atomic():
        grant, _created = PlaygroundGrant.objects.select_for_update().get_or_create(
            fingerprint_hash=digest
        )
        old = None
        remaining = kt.lifetime_quota
        if grant.issued:
            # The previous key, locked: a request spending a use waits for us.
            old = (
                APIKey.objects.select_for_update().filter(pk=grant.api_key_id).first()
                if grant.api_key_id
                else None
            )
            # A key an operator deleted or revoked ends the fingerprint's quota.
            remaining = old.remaining_uses if old is not None and old.is_usable else 0
        if not remaining:
            raise ValidationError(
                _("This playground access has used up its lifetime quota of requests."),
                code="quota_exhausted",
            )
        api_key, raw_key = create_key(
            organization=organization,
            key_type=kt.name,
            name=KEY_NAME,
            # The site's playground type names what its keys may do.
            scopes=kt.scopes if kt.default_scopes is None else kt.default_scopes,
            remaining_uses=remaining,
            ip_address=ip_address,
        )
        if old is not None:
            # The quota moved to the new key: a request still holding the old
            # one (its UPDATE waits for our row lock) finds nothing to spend.
            APIKey.objects.filter(pk=old.pk).update(remaining_uses=0)
            revoke_key(old, ip_address=ip_address)
        grant.api_key = api_key
        grant.issued += 1
        grant.updated_at = timezone.now()
        grant.save(update_fields=["api_key", "issued", "updated_at"])
    return api_key, raw_key
