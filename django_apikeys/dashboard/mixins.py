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

import datetime
import hashlib
import logging
import secrets
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import is_ratelimited

from .. import services
from ..abstract import MANAGE_API_KEYS, MANAGE_MEMBERS
from ..cache import cache_failed, cache_unavailable
from ..models import APIKey, FormTokenUse, Membership, Organization
from .errors import (
    NOT_FOUND_TEMPLATE,
    PERMISSION_DENIED_TEMPLATE,
    OrganizationPermissionRequired,
    not_found_page,
    permission_denied_page,
)

logger = logging.getLogger("django_apikeys")

#: Dashboard POSTs per user per minute (django-ratelimit rate syntax).
DASHBOARD_POST_RATE = "30/m"

#: Session key of the one-time form tokens (never a raw key: see FormTokenMixin).
FORM_TOKENS_SESSION_KEY = "_apikeys_form_tokens"
MAX_FORM_TOKENS = 20


class DashboardErrorPagesMixin:
    """Answer ``PermissionDenied`` and ``Http404`` raised anywhere in the view
    with the dashboard's own pages (:mod:`django_apikeys.dashboard.errors`).

    Views override :meth:`dispatch_page` rather than ``dispatch``, so that
    what they raise before and after ``super()`` is covered. Only views that
    use this mixin are concerned: the site's ``handler403``/``handler404``
    stay in charge everywhere else.
    """

    permission_denied_template_name = PERMISSION_DENIED_TEMPLATE
    not_found_template_name = NOT_FOUND_TEMPLATE

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return self.dispatch_page(request, *args, **kwargs)
        except PermissionDenied as exc:
            return permission_denied_page(
                request, exc, self._known_membership(), self.permission_denied_template_name
            )
        except Http404:
            return not_found_page(request, self._known_membership(), self.not_found_template_name)

    def dispatch_page(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """What ``dispatch`` does for a view without this mixin."""
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc, no-any-return]

    def _known_membership(self) -> Membership | None:
        """The requesting user's membership in the URL's organization, once
        :class:`OrganizationMixin` has found it (never another organization's)."""
        return self.__dict__.get("membership")


class OrganizationMixin(DashboardErrorPagesMixin, LoginRequiredMixin):
    """Load ``self.organization`` and ``self.membership`` from the ``org_id`` URL kwarg.

    Contract: the organization is looked up only among the user's own
    memberships; anything else (someone else's organization, a made-up id)
    raises ``Http404``, answered with the dashboard's 404 page
    (:class:`DashboardErrorPagesMixin`). Anonymous users are sent to
    ``LOGIN_URL``.
    """

    org_url_kwarg = "org_id"
    organization: Organization
    membership: Membership
    kwargs: dict[str, Any]

    def dispatch_page(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
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
        return super().dispatch_page(request, *args, **kwargs)

    def check_organization_permission(self) -> None:
        """Hook for :class:`RolePermissionMixin`; membership alone suffices here."""

    @property
    def role_permissions(self) -> frozenset[str]:
        return frozenset(self.membership.role.permissions)

    def has_org_perm(self, permission: str) -> bool:
        return permission in self.role_permissions

    def require_org_perm(self, permission: str, message: Any = None) -> None:
        """Raise :class:`~django_apikeys.dashboard.errors.OrganizationPermissionRequired`
        unless the member's role grants ``permission``."""
        if not self.has_org_perm(permission):
            raise OrganizationPermissionRequired(permission, message)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(
            organization=self.organization,
            membership=self.membership,
            org_perms=self.role_permissions,
        )
        return context


class RolePermissionMixin(OrganizationMixin):
    """Require ``required_permission`` from the user's role in the URL's organization.

    A view that sets none is ``ImproperlyConfigured``: nothing is allowed by
    omission. Missing the permission raises
    :class:`~django_apikeys.dashboard.errors.OrganizationPermissionRequired`
    (a ``PermissionDenied``): a 403 page naming it and who can grant it.
    """

    required_permission: str = ""

    def check_organization_permission(self) -> None:
        if not self.required_permission:
            raise ImproperlyConfigured(f"{type(self).__name__} sets no required_permission.")
        self.require_org_perm(self.required_permission)


class KeyAccessMixin(RolePermissionMixin):
    """Key pages: ``organization.manage_api_keys`` manages every key of the
    organization; ``organization.manage_own_api_keys`` alone, one's own user
    keys only (``self.own_keys_only``; the rule is
    :func:`~django_apikeys.services.manageable_keys`). Neither: 403 naming
    ``manage_api_keys``."""

    required_permission = MANAGE_API_KEYS
    own_keys_only = False
    request: HttpRequest

    def check_organization_permission(self) -> None:
        self.own_keys_only = services.manages_own_keys_only(self.role_permissions)
        if not self.own_keys_only:
            super().check_organization_permission()

    def manageable_keys(self) -> QuerySet[APIKey]:
        """The organization's keys this member may see and act on."""
        keys = APIKey.objects.filter(organization=self.organization)
        return services.manageable_keys(keys, self.role_permissions, self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["own_keys_only"] = self.own_keys_only
        return context


class OrganizationKeyMixin(KeyAccessMixin):
    """``self.api_key``: the key in the URL, looked up among the keys this
    member manages (within the organization; someone else's key is 404 for a
    member who manages only their own)."""

    api_key: APIKey

    def check_organization_permission(self) -> None:
        super().check_organization_permission()
        self.api_key = get_object_or_404(
            self.manageable_keys().select_related("user", "created_by"),
            pk=self.kwargs["key_id"],
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("api_key", self.api_key)
        return context


class OrganizationMembershipMixin(RolePermissionMixin):
    """``self.target``: the membership in the URL, within the organization only."""

    required_permission = MANAGE_MEMBERS
    target: Membership

    def check_organization_permission(self) -> None:
        super().check_organization_permission()
        self.target = get_object_or_404(
            Membership.objects.select_related("user", "role", "organization"),
            pk=self.kwargs["membership_id"],
            organization=self.organization,
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["target"] = self.target
        return context

    def get_success_url(self) -> str:
        return reverse("django_apikeys:member_list", args=[self.organization.pk])


class RateLimitedPostMixin:
    """Answer 429 once a user sends more than ``DASHBOARD_POST_RATE`` POSTs a minute.

    django-ratelimit's core counts every dashboard POST (one shared group for
    all views, keyed by user); a limited request gets a page rather than a
    bare 403. When the rate-limit cache cannot be reached the POST goes
    through unlimited (and it is logged): revoking a leaked key matters most
    during the incident that took Redis down.
    """

    ratelimited_template_name = "django_apikeys/ratelimited.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _post_rate_limited(request):
            return render(request, self.ratelimited_template_name, status=429)
        return super().post(request, *args, **kwargs)  # type: ignore[misc]


def _post_rate_limited(request: HttpRequest) -> bool:
    if cache_unavailable():
        return False
    try:
        return is_ratelimited(
            request,
            group="django_apikeys.dashboard",
            key="user_or_ip",
            rate=DASHBOARD_POST_RATE,
            method="POST",
            increment=True,
        )
    except Exception:  # Redis refused or timed out: the dashboard keeps working
        cache_failed()
        logger.warning("Dashboard rate limit unavailable; POST allowed.", exc_info=True)
        return False


class FormTokenMixin:
    """One-time form tokens that stop a reloaded POST from acting twice.

    The create and roll forms answer their POST with the show-once page; a
    browser reload re-sends that POST. Each rendered form carries a random
    token remembered in the session (the token only, never a key); a
    successful submission consumes it, so a replay finds no token and is
    refused instead of creating (and showing) another key.
    """

    request: HttpRequest

    def get_initial(self) -> dict[str, Any]:
        """A fresh token in every form rendered for a GET."""
        initial = dict(super().get_initial())  # type: ignore[misc]
        if self.request.method != "POST":
            initial["form_token"] = self.issue_form_token()
        return initial

    def issue_form_token(self) -> str:
        token = secrets.token_urlsafe(24)
        tokens = list(self.request.session.get(FORM_TOKENS_SESSION_KEY, []))
        tokens.append(token)
        self.request.session[FORM_TOKENS_SESSION_KEY] = tokens[-MAX_FORM_TOKENS:]
        return token

    def renew_form_token(self, form: Any) -> None:
        """Put a fresh token in a bound ``form`` about to be shown again: the
        submitted one is spent, and the corrected form must be sendable."""
        data = form.data.copy()
        data["form_token"] = self.issue_form_token()
        form.data = data

    def form_token_is_valid(self, token: str) -> bool:
        return bool(token) and token in self.request.session.get(FORM_TOKENS_SESSION_KEY, [])

    def consume_form_token(self, token: str) -> bool:
        """Spend ``token``; ``False`` if it was not issued or already used.

        The claim is one INSERT into a unique column
        (:class:`~django_apikeys.models.FormTokenUse`), atomic on every
        database: of two simultaneous POSTs with one token, exactly one wins,
        which a read-modify-write of the session cannot promise.
        """
        tokens = list(self.request.session.get(FORM_TOKENS_SESSION_KEY, []))
        if token not in tokens or not claim_form_token(token):
            return False
        tokens.remove(token)
        self.request.session[FORM_TOKENS_SESSION_KEY] = tokens
        # Persist now: the show-once response must not depend on a later save.
        self.request.session.save()
        return True


#: Seconds a claimed token is remembered; tokens live in the session, which
#: Django expires after two weeks by default.
FORM_TOKEN_RETENTION = 60 * 60 * 24 * 15


def claim_form_token(token: str) -> bool:
    """Insert the token's digest; ``False`` when another request claimed it first."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    try:
        with transaction.atomic():
            FormTokenUse.objects.create(digest=digest)
    except IntegrityError:
        return False
    if secrets.randbelow(100) == 0:  # now and then, forget claims older than any session
        FormTokenUse.objects.filter(
            used_at__lt=timezone.now() - datetime.timedelta(seconds=FORM_TOKEN_RETENTION)
        ).delete()
    return True
