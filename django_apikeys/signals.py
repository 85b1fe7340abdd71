"""Signals sent by the key and membership lifecycle (on transaction commit).

None of them ever carries a raw key.

* ``api_key_created(sender=APIKey, api_key, actor)``
* ``api_key_rolled(sender=APIKey, api_key, old_key, actor)``
* ``api_key_revoked(sender=APIKey, api_key, actor)``
* ``api_key_authentication_failed(sender=APIKeyAuthentication, request, code, hint)``
  (sent at once, not on commit; ``hint`` is the display hint of a
  well-formed key, else ``""``)
* ``membership_changed(sender=Membership, membership, organization, user,
  action, actor)`` with ``action`` one of ``added``, ``role_changed``,
  ``removed`` or ``left``

Organizations (docs/organizations.rst), all on commit:

* ``organization_created(sender=Organization, organization, actor)``
* ``organization_updated(sender=Organization, organization, actor, changes)``
  (``changes``: field name -> ``(old, new)``)
* ``organization_deleted(sender=Organization, organization, actor)``: deactivated;
  its keys stop working at once
* ``organization_purged(sender=Organization, organization_id, slug)``: removed
  for good by ``purgeorganizations``
* ``ownership_transferred(sender=Organization, organization, from_user, to_user, actor)``
* ``invitation_sent(sender=Invitation, invitation, actor, resent)``
* ``invitation_revoked(sender=Invitation, invitation, actor)``
* ``invitation_accepted(sender=Invitation, invitation, membership, user)``
* ``invitation_declined(sender=Invitation, invitation, user)``
"""

from __future__ import annotations

from django.dispatch import Signal

api_key_created = Signal()
api_key_rolled = Signal()
api_key_revoked = Signal()
api_key_authentication_failed = Signal()
membership_changed = Signal()
organization_created = Signal()
organization_updated = Signal()
organization_deleted = Signal()
organization_purged = Signal()
ownership_transferred = Signal()
invitation_sent = Signal()
invitation_revoked = Signal()
invitation_accepted = Signal()
invitation_declined = Signal()
