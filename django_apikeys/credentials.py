"""Credentials other than API keys that the DRF pipeline understands.

``request.auth`` is an :class:`~django_apikeys.models.APIKey` for key
requests. An optional part that authenticates another kind of credential
(``django_apikeys.oauth``'s access tokens) puts a :class:`Credential` there,
and every permission class and the rate-limit throttle then treat it exactly
like a **user key**: its scopes intersected with the user's live role in its
organization, the organization pinned, its ``key_type`` (the credential
kind, e.g. ``"oauth"``) matched against ``allowed_key_types``.

The core never imports the parts that define credentials; they subclass this.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Organization

__all__ = ["Credential"]


class Credential:
    """What the pipeline reads from a non-key ``request.auth``.

    Subclasses set, per request:

    * ``key_type`` — the credential kind, listed in a view's
      ``allowed_key_types`` to admit it;
    * ``scopes`` — the normalised scopes the credential carries;
    * ``user_id`` / ``user`` — the person it acts for;
    * ``organization`` / ``organization_id`` — the organization it is pinned to;
    * ``member_permissions`` / ``member_scopes`` — the user's role in that
      organization **now** (``None``: no longer a member);
    * ``rate_limit_key`` — what the per-credential rate limit counts (e.g. an
      OAuth app's client id), with ``rate_limit_per_minute`` /
      ``rate_limit_per_day`` (0 = ``APIKEYS`` defaults).

    ``pk`` is ``None``: usage is metered per organization, without a key;
    ``hint`` is a short non-secret label (as a key's display hint).
    """

    key_type: str = ""
    hint: str = ""
    scopes: Sequence[str] = ()
    user: Any = None
    user_id: Any = None
    organization: Organization
    organization_id: Any = None
    member_permissions: Sequence[str] | None = None
    member_scopes: Sequence[str] | None = None
    rate_limit_key: str = ""
    rate_limit_per_minute: int = 0
    rate_limit_per_day: int = 0
    remaining_uses: int | None = None
    pk: Any = None
