"""Signals sent by the key and membership lifecycle (on transaction commit).

None of them ever carries a raw key.

* ``api_key_created(sender=APIKey, api_key, actor)``
* ``api_key_rolled(sender=APIKey, api_key, old_key, actor)``
* ``api_key_revoked(sender=APIKey, api_key, actor)``
* ``api_key_authentication_failed(sender=APIKeyAuthentication, request, code, hint)``
  (sent at once, not on commit; ``hint`` is the display hint of a
  well-formed key, else ``""``)
* ``api_key_leaked(sender=APIKey, api_key, url, source, reporter, revoked)``:
  a secret scanner reported the key public (once per key)
* ``api_key_expiring(sender=APIKey, api_key, days, recipients)``: sent by
  the ``sendexpiryreminders`` command, once per key per threshold
* ``membership_changed(sender=Membership, membership, organization, user,
  action, actor)`` with ``action`` one of ``added``, ``role_changed``,
  ``removed``
"""

from __future__ import annotations

from django.dispatch import Signal

api_key_created = Signal()
api_key_rolled = Signal()
api_key_revoked = Signal()
api_key_authentication_failed = Signal()
membership_changed = Signal()
api_key_leaked = Signal()
api_key_expiring = Signal()
