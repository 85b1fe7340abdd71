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
                     ``revoke_key``, ``revoke_keys``, ``revoke_all_keys``,
                     ``default_expiry``
``resolution``       the hot path: ``resolve_key``, ``fetch_key``,
                     ``key_queryset``, ``touch_last_used``
``leaks``            ``report_leaks`` (what a secret scanner's report does)
``editing``          ``update_key`` (name, per-key limits, allowed origins)
``grants``           ``act_in_organization`` (member-scoped user keys),
                     ``credential_permissions``,
                     ``check_organization_permissions_grantable``,
                     ``manages_own_keys_only``, ``manageable_keys``,
                     ``creatable_key_types`` (who manages which keys)
``members``          ``can_grant_role``, ``members_who_can_grant``,
                     ``add_member``, ``change_role``, ``remove_member``,
                     ``leave_organization``
``organizations``    ``may_create_organization``, ``validate_slug``,
                     ``create_organization``, ``update_organization``,
                     ``transfer_ownership``, ``delete_organization``,
                     ``purge_organizations``
``invitations``      ``invite``, ``resend_invitation``, ``revoke_invitation``,
                     ``invitation_for_token``, ``accept_invitation``,
                     ``decline_invitation``, ``pending_invitations``
``playground``       ``issue_playground_key``: anonymous read-only test keys
``_common``          ``membership_for``, ``allowed_scopes_for`` and the audit /
                     signal helpers
===================  ==========================================================
"""

from __future__ import annotations

from ._common import allowed_scopes_for, membership_for
from .editing import update_key
from .grants import (
    act_in_organization,
    check_organization_permissions_grantable,
    creatable_key_types,
    credential_permissions,
    manageable_keys,
    manages_own_keys_only,
)
from .invitations import (
    InvitationError,
    accept_invitation,
    decline_invitation,
    invitation_for_token,
    invite,
    pending_invitations,
    resend_invitation,
    revoke_invitation,
)
from .leaks import report_leaks
from .lifecycle import (
    DEFAULT_EXPIRY,
    create_key,
    default_expiry,
    revoke_all_keys,
    revoke_key,
    revoke_keys,
    roll_key,
    validate_key_request,
)
from .members import (
    add_member,
    can_grant_role,
    change_role,
    leave_organization,
    members_who_can_grant,
    remove_member,
)
from .organizations import (
    create_organization,
    delete_organization,
    may_create_organization,
    purge_organizations,
    transfer_ownership,
    update_organization,
    validate_slug,
)
from .playground import issue_playground_key
from .resolution import fetch_key, key_queryset, resolve_key, touch_last_used

__all__ = [
    "InvitationError",
    "accept_invitation",
    "act_in_organization",
    "check_organization_permissions_grantable",
    "creatable_key_types",
    "credential_permissions",
    "manageable_keys",
    "manages_own_keys_only",
    "add_member",
    "allowed_scopes_for",
    "can_grant_role",
    "members_who_can_grant",
    "change_role",
    "DEFAULT_EXPIRY",
    "create_key",
    "default_expiry",
    "create_organization",
    "decline_invitation",
    "delete_organization",
    "fetch_key",
    "issue_playground_key",
    "invitation_for_token",
    "invite",
    "key_queryset",
    "leave_organization",
    "may_create_organization",
    "membership_for",
    "pending_invitations",
    "purge_organizations",
    "remove_member",
    "report_leaks",
    "resend_invitation",
    "resolve_key",
    "revoke_all_keys",
    "revoke_invitation",
    "revoke_key",
    "revoke_keys",
    "roll_key",
    "touch_last_used",
    "transfer_ownership",
    "update_key",
    "update_organization",
    "validate_key_request",
    "validate_slug",
]
