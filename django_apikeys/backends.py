"""Authentication backend for per-organization role permissions.

Add ``"django_apikeys.backends.OrganizationRoleBackend"`` to
``AUTHENTICATION_BACKENDS`` and ``user.has_perm("organization.manage_api_keys",
org)`` answers from the user's role in ``org`` (``{% if perms %}`` cannot pass
an object; use ``has_perm`` in views, or in templates
``{% load apikeys %}{% apikeys_has_perm org "organization.manage_api_keys" as ok %}``).
It authenticates nobody.
"""

from __future__ import annotations

from typing import Any

from .abstract import ORGANIZATION_PERMISSIONS

_CACHE_ATTR = "_apikeys_org_perm_cache"


class OrganizationRoleBackend:
    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> None:
        return None

    def get_organization_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        from .models import Organization
        from .services import membership_for

        if not isinstance(obj, Organization) or not getattr(user_obj, "is_active", False):
            return set()
        if not obj.is_active:  # deleted: nobody holds anything in it any more
            return set()
        cache: dict[Any, set[str]] = user_obj.__dict__.setdefault(_CACHE_ATTR, {})
        if obj.pk not in cache:
            membership = membership_for(user_obj, obj)
            cache[obj.pk] = set(membership.role.permissions) if membership else set()
        return cache[obj.pk]

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return self.get_organization_permissions(user_obj, obj)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if perm not in ORGANIZATION_PERMISSIONS:
            return False
        return perm in self.get_organization_permissions(user_obj, obj)
