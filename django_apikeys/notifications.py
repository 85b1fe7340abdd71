"""E-mails to people about their keys, through Django's e-mail backend.

Who hears about a key: its creator, its owner (user keys) and the Owners of
its organization, if they are active and have an address. Each person gets
their own message (nobody sees the others' addresses). Sending never fails
the caller: the key has been handled already, a mail server outage is
logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from .conf import apikeys_settings
from .models import APIKey, Membership

logger = logging.getLogger("django_apikeys")


def _address(user: Any) -> str | None:
    if user is None or not getattr(user, "is_active", False):
        return None
    field = get_user_model().get_email_field_name()
    value = getattr(user, field, "") or ""
    return value or None


def owners_by_organization(organization_ids: Iterable[Any]) -> dict[Any, list[Any]]:
    """The Owner users of each organization, in one query."""
    result: dict[Any, list[Any]] = {}
    memberships = Membership.objects.filter(
        organization_id__in=set(organization_ids), role__name=apikeys_settings.OWNER_ROLE
    ).select_related("user")
    for membership in memberships:
        result.setdefault(membership.organization_id, []).append(membership.user)
    return result


def recipients_by_address(
    api_keys: Sequence[APIKey], owners: dict[Any, list[Any]]
) -> dict[str, list[APIKey]]:
    """Address -> the keys that person should hear about (creator, owner, Owners)."""
    result: dict[str, list[APIKey]] = {}
    for api_key in api_keys:
        people = [api_key.created_by, api_key.user, *owners.get(api_key.organization_id, [])]
        for address in {a for a in map(_address, people) if a}:
            result.setdefault(address, []).append(api_key)
    return result


def send_to_each(messages: dict[str, dict[str, Any]], template: str) -> int:
    """Render ``django_apikeys/email/<template>_subject.txt`` / ``.txt`` per
    address with its context and send each; return how many were sent (a
    failure is logged and does not stop the others)."""
    if not messages:
        return 0
    from_email = apikeys_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL
    emails = []
    for address, context in messages.items():
        subject = render_to_string(f"django_apikeys/email/{template}_subject.txt", context)
        body = render_to_string(f"django_apikeys/email/{template}.txt", context)
        emails.append(EmailMessage(" ".join(subject.split()), body, from_email, [address]))
    sent = 0
    for email in emails:
        try:
            sent += int(email.send() or 0)
        except Exception:
            logger.error("Could not send a %s e-mail.", template, exc_info=True)
    return sent
