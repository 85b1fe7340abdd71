"""The dashboard's own 403 and 404 pages.

Raised inside a dashboard view, ``PermissionDenied`` and ``Http404`` are
answered by :class:`~django_apikeys.dashboard.mixins.DashboardErrorPagesMixin`
with these pages instead of the site's bare ones: they extend
``django_apikeys/base.html`` (templates ``django_apikeys/permission_denied.html``
and ``django_apikeys/not_found.html``, overridable like the others). Only
dashboard views are concerned; the API, the admin and the rest of the site
keep their own handlers.

A 404 page says the same for an object that does not exist and for one of
another organization: it is built from the requesting member's own
organization (or none) and never from what was asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from .. import services
from ..abstract import MANAGE_MEMBERS, ORGANIZATION_PERMISSIONS
from ..models import Role

if TYPE_CHECKING:
    from ..models import Membership

PERMISSION_DENIED_TEMPLATE = "django_apikeys/permission_denied.html"
NOT_FOUND_TEMPLATE = "django_apikeys/not_found.html"


class OrganizationPermissionRequired(PermissionDenied):
    """The member's role in this organization lacks ``permission``.

    A ``PermissionDenied`` (so anything that catches that still does); the
    dashboard's 403 page names the permission and who can grant it.
    """

    def __init__(self, permission: str, message: Any = None) -> None:
        self.permission = permission
        #: Why, beyond the missing permission (``None``: nothing more to say).
        self.reason = message
        super().__init__(
            message
            if message is not None
            else _("Your role in this organization does not allow this page.")
        )


def _roles_holding(permission: str) -> list[Role]:
    return [role for role in Role.objects.all() if permission in role.permissions]


def _membership_context(membership: Membership | None) -> dict[str, Any]:
    if membership is None:
        return {}
    return {
        "organization": membership.organization,
        "membership": membership,
        "org_perms": frozenset(membership.role.permissions),
    }


def permission_denied_page(
    request: HttpRequest,
    exc: PermissionDenied,
    membership: Membership | None,
    template_name: str = PERMISSION_DENIED_TEMPLATE,
) -> HttpResponse:
    """403: why, and for a missing permission, who in *this* organization can grant it."""
    permission = getattr(exc, "permission", None)
    context: dict[str, Any] = {
        **_membership_context(membership),
        "reason": getattr(exc, "reason", exc.args[0] if exc.args else None) or None,
        "permission": permission,
        "permission_label": ORGANIZATION_PERMISSIONS.get(permission) if permission else None,
    }
    if permission and membership is not None:
        context.update(
            roles_with_permission=_roles_holding(permission),
            granting_roles=_roles_holding(MANAGE_MEMBERS),
            granters=services.members_who_can_grant(membership.organization, permission),
        )
    return render(request, template_name, context, status=403)


def not_found_page(
    request: HttpRequest,
    membership: Membership | None,
    template_name: str = NOT_FOUND_TEMPLATE,
) -> HttpResponse:
    """404: "not found in this organization" with a way back; the same page
    whether the object is missing or belongs to another organization."""
    return render(request, template_name, _membership_context(membership), status=404)
