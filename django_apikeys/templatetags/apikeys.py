"""Template helpers for the dashboard: ``{% load apikeys %}``.

``{% apikeys_has_perm organization "organization.manage_api_keys" as can_manage %}``
answers from the requesting user's role in ``organization`` (Django's
``{% if perms %}`` cannot pass an object).
"""

from __future__ import annotations

from typing import Any

from django import template

from ..abstract import ORGANIZATION_PERMISSIONS
from ..conf import apikeys_settings
from ..services import membership_for

register = template.Library()


@register.simple_tag(takes_context=True)
def apikeys_has_perm(context: template.Context, organization: Any, permission: str) -> bool:
    """True if the request's user holds ``permission`` through their role in ``organization``."""
    if permission not in ORGANIZATION_PERMISSIONS or organization is None:
        return False
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    membership = membership_for(user, organization)
    return membership is not None and permission in membership.role.permissions


@register.filter
def key_type_label(name: str) -> str:
    """The configured label of a key type name (the name itself if unknown)."""
    kt = apikeys_settings.key_type(name)
    return kt.label if kt else name
