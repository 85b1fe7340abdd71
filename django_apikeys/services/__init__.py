"""The lifecycle services: the one place that creates, rolls, revokes and
resolves keys and changes memberships.

Views, admin, management commands (and the optional ``api`` and ``oauth``
parts) call these functions and hold no key logic of their own. Writes run in
a transaction, send their signal on commit and leave an
:class:`~django_apikeys.models.AuditEvent`.

===================  ==========================================================
module               what lives there
===================  ==========================================================
``lifecycle``        ``validate_key_request``, ``create_key``, ``roll_key``,
                     ``revoke_key``
``resolution``       the hot path: ``resolve_key``, ``fetch_key``,
                     ``key_queryset``, ``touch_last_used``
``members``          ``can_grant_role``, ``add_member``, ``change_role``,
                     ``remove_member``
``_common``          ``membership_for``, ``allowed_scopes_for`` and the audit /
                     signal helpers
===================  ==========================================================
"""

from __future__ import annotations

from ._common import allowed_scopes_for, membership_for
from .lifecycle import create_key, revoke_key, roll_key, validate_key_request
from .members import add_member, can_grant_role, change_role, remove_member
from .resolution import fetch_key, key_queryset, resolve_key, touch_last_used

__all__ = [
    "add_member",
    "allowed_scopes_for",
    "can_grant_role",
    "change_role",
    "create_key",
    "fetch_key",
    "key_queryset",
    "membership_for",
    "remove_member",
    "resolve_key",
    "revoke_key",
    "roll_key",
    "touch_last_used",
    "validate_key_request",
]
