"""View mixins for the dashboard: "a member of the organization in the URL".

Every dashboard view under ``<uuid:org_id>/`` uses :class:`OrganizationMixin`,
which loads the organization **among the requesting user's memberships**: an
organization the user does not belong to answers 404, exactly like one that
does not exist, so editing the URL reveals nothing. :class:`RolePermissionMixin`
then requires ``required_permission`` (an organization permission such as
``organization.manage_api_keys``) from the user's role in *that* organization,
else 403. Permissions come from the role alone, evaluated on every request,
so a role change takes effect on the very next page.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django_ratelimit.decorators import ratelimit

from ..models import Membership, Organization

#: Dashboard POSTs per user per minute (django-ratelimit rate syntax).
DASHBOARD_POST_RATE = "30/m"

#: Session key of the one-time form tokens (never a raw key: see FormTokenMixin).
FORM_TOKENS_SESSION_KEY = "_apikeys_form_tokens"
MAX_FORM_TOKENS = 20


class OrganizationMixin(LoginRequiredMixin):
    """Load ``self.organization`` and ``self.membership`` from the ``org_id`` URL kwarg.

    Contract: the organization is looked up only among the user's own
    memberships; anything else (someone else's organization, a made-up id)
    raises ``Http404``. Anonymous users are sent to ``LOGIN_URL``.
    """

    org_url_kwarg = "org_id"
    organization: Organization
    membership: Membership
    kwargs: dict[str, Any]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = (
            Membership.objects.select_related("organization", "organization__plan", "role")
            .filter(
                user_id=request.user.pk,
                organization_id=kwargs.get(self.org_url_kwarg),
                # A deleted organization is gone for its members at once.
                organization__deactivated_at__isnull=True,
            )
            .first()
        )
        if membership is None:
            raise Http404(_("No such organization."))
        self.membership = membership
        self.organization = membership.organization
        self.check_organization_permission()
        return super().dispatch(request, *args, **kwargs)

    def check_organization_permission(self) -> None:
        """Hook for :class:`RolePermissionMixin`; membership alone suffices here."""

    @property
    def role_permissions(self) -> frozenset[str]:
        return frozenset(self.membership.role.permissions)

    def has_org_perm(self, permission: str) -> bool:
        return permission in self.role_permissions

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(
            organization=self.organization,
            membership=self.membership,
            org_perms=self.role_permissions,
        )
        return context  # type: ignore[no-any-return]


class RolePermissionMixin(OrganizationMixin):
    """Require ``required_permission`` from the user's role in the URL's organization.

    A view that sets none is ``ImproperlyConfigured``: nothing is allowed by
    omission. Missing the permission raises ``PermissionDenied`` (403).
    """

    required_permission: str = ""

    def check_organization_permission(self) -> None:
        if not self.required_permission:
            raise ImproperlyConfigured(f"{type(self).__name__} sets no required_permission.")
        if not self.has_org_perm(self.required_permission):
            raise PermissionDenied(_("Your role in this organization does not allow this page."))


class RateLimitedPostMixin:
    """Answer 429 once a user sends more than ``DASHBOARD_POST_RATE`` POSTs a minute.

    django-ratelimit's decorator counts every dashboard POST (one shared group
    for all views, keyed by user); with ``block=False`` it only flags the
    request, and the view answers with a page rather than a bare 403.
    """

    ratelimited_template_name = "django_apikeys/ratelimited.html"

    @method_decorator(
        ratelimit(
            group="django_apikeys.dashboard",
            key="user_or_ip",
            rate=DASHBOARD_POST_RATE,
            method="POST",
            block=False,
        )
    )
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "limited", False):
            return render(request, self.ratelimited_template_name, status=429)
        return super().post(request, *args, **kwargs)  # type: ignore[misc,no-any-return]


class FormTokenMixin:
    """One-time form tokens that stop a reloaded POST from acting twice.

    The create and roll forms answer their POST with the show-once page; a
    browser reload re-sends that POST. Each rendered form carries a random
    token remembered in the session (the token only, never a key); a
    successful submission consumes it, so a replay finds no token and is
    refused instead of creating (and showing) another key.
    """

    request: HttpRequest

    def issue_form_token(self) -> str:
        token = secrets.token_urlsafe(24)
        tokens = list(self.request.session.get(FORM_TOKENS_SESSION_KEY, []))
        tokens.append(token)
        self.request.session[FORM_TOKENS_SESSION_KEY] = tokens[-MAX_FORM_TOKENS:]
        return token

    def form_token_is_valid(self, token: str) -> bool:
        return bool(token) and token in self.request.session.get(FORM_TOKENS_SESSION_KEY, [])

    def consume_form_token(self, token: str) -> bool:
        """Remove ``token``; ``False`` if it was not there (already used)."""
        tokens = list(self.request.session.get(FORM_TOKENS_SESSION_KEY, []))
        if token not in tokens:
            return False
        tokens.remove(token)
        self.request.session[FORM_TOKENS_SESSION_KEY] = tokens
        # Persist now: the show-once response must not depend on a later save.
        self.request.session.save()
        return True
