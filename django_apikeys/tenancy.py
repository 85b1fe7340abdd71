"""Tenant resolution: which organization a request acts on.

An organization is named by its UUID or its slug, in the organization header
(``APIKEYS["ORGANIZATION_HEADER"]``, default ``X-Organization``) or in a URL
keyword argument (``APIKEYS["URL_ORGANIZATION_KWARGS"]``). For API keys the
credential decides the organization and a named one must match it (IDOR
guard); session users pick one of their own organizations this way.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from . import exceptions
from .conf import apikeys_settings

if TYPE_CHECKING:
    from .models import Organization

MAX_REFERENCE_LENGTH = 100
_SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+\Z")


@dataclass(frozen=True)
class OrganizationRef:
    """An organization as named by a client: a UUID or a slug, not yet looked up."""

    value: str

    @property
    def uuid(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.value)
        except ValueError:
            return None

    @property
    def plausible(self) -> bool:
        """Could this name any organization (a UUID or a slug)? Checked before
        any query: a NUL byte, say, is refused by PostgreSQL with an error."""
        return self.uuid is not None or bool(_SLUG_RE.match(self.value))

    def matches(self, organization: Organization) -> bool:
        as_uuid = self.uuid
        if as_uuid is not None:
            return as_uuid == organization.pk
        return self.value == organization.slug

    def lookup(self) -> dict[str, Any]:
        """Filter kwargs for ``Organization`` (or ``organization__`` with a prefix)."""
        as_uuid = self.uuid
        return {"pk": as_uuid} if as_uuid is not None else {"slug": self.value}


def _ref(value: Any) -> OrganizationRef | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text or len(text) > MAX_REFERENCE_LENGTH:
        # A reference that cannot name any organization still names *one*:
        # it must not silently fall back to the credential's organization.
        return OrganizationRef(text[:MAX_REFERENCE_LENGTH] or "\x00")
    return OrganizationRef(text)


def organization_from_header(request: HttpRequest) -> OrganizationRef | None:
    """The organization named in the header, or ``None``; enforces the header when required."""
    value = request.META.get(apikeys_settings.organization_header_meta)
    if value is None:
        if apikeys_settings.REQUIRE_ORGANIZATION_HEADER:
            raise exceptions.OrganizationRequired(
                exceptions.OrganizationRequired.default_detail
                + f" ({apikeys_settings.ORGANIZATION_HEADER})"
            )
        return None
    return _ref(value)


def organization_from_url(view_kwargs: dict[str, Any]) -> OrganizationRef | None:
    for name in apikeys_settings.URL_ORGANIZATION_KWARGS:
        if name in view_kwargs:
            return _ref(view_kwargs[name])
    return None


def organization_for_user(user: Any, ref: OrganizationRef) -> Organization | None:
    """The organization ``ref`` names if ``user`` is a member of it, else ``None``."""
    from .models import Organization

    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return None
    if not ref.plausible:
        return None
    return (
        Organization.objects.select_related("plan")
        .filter(memberships__user_id=user.pk, deactivated_at__isnull=True, **ref.lookup())
        .first()
    )
