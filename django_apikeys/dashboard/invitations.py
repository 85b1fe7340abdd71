"""Invitation pages: the organization's list with the invite form, resend and
revoke (``organization.manage_members``), and the page a link opens, where
the invited person accepts or declines.

Invitation POSTs (send, resend) are rate limited per user by
``APIKEYS["INVITATION_RATE"]`` on top of the dashboard's POST limit. No
answer depends on whether an address has an account.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, View
from django_ratelimit.core import is_ratelimited

from .. import services
from ..conf import apikeys_settings
from ..models import Invitation
from ..networks import client_ip
from ..services.invitations import LINK_ERRORS, InvitationError, check_usable, site_url
from .forms import ConfirmForm, apply_service_errors
from .mixins import RateLimitedPostMixin, RolePermissionMixin
from .organization_forms import InviteForm

MANAGE_MEMBERS = "organization.manage_members"
INVITATION_TEMPLATE = "django_apikeys/invitation.html"


class InvitationRateLimitMixin:
    """Answer 429 beyond ``APIKEYS["INVITATION_RATE"]`` invitation POSTs per user
    (django-ratelimit's core; the rate is a setting, read per request)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if is_ratelimited(
            request,
            group="django_apikeys.invitations",
            key="user_or_ip",
            rate=str(apikeys_settings.INVITATION_RATE),
            method="POST",
            increment=True,
        ):
            return render(request, RateLimitedPostMixin.ratelimited_template_name, status=429)
        return super().post(request, *args, **kwargs)  # type: ignore[misc]


def base_url(request: HttpRequest) -> str:
    """Where invitation links point (``services.invitations.site_url``)."""
    return site_url(request)


class InvitationListView(
    InvitationRateLimitMixin, RateLimitedPostMixin, RolePermissionMixin, FormView
):
    """Pending invitations (resend, revoke) and the invite form (POST sends one)."""

    template_name = "django_apikeys/invitation_list.html"
    form_class = InviteForm
    required_permission = MANAGE_MEMBERS

    def get_form_kwargs(self) -> dict[str, Any]:
        return {
            **super().get_form_kwargs(),
            "organization": self.organization,
            "actor": self.request.user,
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["invitations"] = services.pending_invitations(self.organization)
        return context

    def form_valid(self, form: InviteForm) -> HttpResponse:
        try:
            invitation = services.invite(
                self.organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=self.request.user,
                base_url=base_url(self.request),
                ip_address=client_ip(self.request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Invitation sent to %(email)s as %(role)s.")
            % {"email": invitation.email, "role": invitation.role},
        )
        return HttpResponseRedirect(self.request.path)


class OrganizationInvitationMixin(RolePermissionMixin):
    """``self.invitation``: the one in the URL, within the organization only."""

    required_permission = MANAGE_MEMBERS
    invitation: Invitation

    def check_organization_permission(self) -> None:
        super().check_organization_permission()
        self.invitation = get_object_or_404(
            Invitation.objects.select_related("organization", "role"),
            pk=self.kwargs["invitation_id"],
            organization=self.organization,
        )

    def back(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("django_apikeys:invitation_list", args=[self.organization.pk])
        )


class InvitationResendView(
    InvitationRateLimitMixin, RateLimitedPostMixin, OrganizationInvitationMixin, FormView
):
    """POST only: send the invitation again with a new link (the old one stops)."""

    form_class = ConfirmForm
    http_method_names = ["post"]

    def form_valid(self, form: ConfirmForm) -> HttpResponse:
        request = self.request
        try:
            services.resend_invitation(
                self.invitation,
                actor=request.user,
                base_url=base_url(request),
                ip_address=client_ip(request),
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("Sent the invitation to %(email)s again.") % {"email": self.invitation.email},
            )
        return self.back()


class InvitationRevokeView(RateLimitedPostMixin, OrganizationInvitationMixin, FormView):
    """POST only: withdraw the invitation; its link stops working."""

    form_class = ConfirmForm
    http_method_names = ["post"]

    def form_valid(self, form: ConfirmForm) -> HttpResponse:
        request = self.request
        if services.revoke_invitation(
            self.invitation, actor=request.user, ip_address=client_ip(request)
        ):
            messages.success(
                request,
                _("Withdrew the invitation to %(email)s.") % {"email": self.invitation.email},
            )
        else:
            messages.info(request, _("That invitation was already answered or withdrawn."))
        return self.back()


class InvitationPage(View):
    """The page an invitation link opens (see :class:`InvitationView`).

    A visitor is sent to ``APIKEYS["INVITATION_LOGIN_URL"]`` (default
    ``LOGIN_URL``) with ``next`` pointing back here. A signed-in user sees
    the organization and role with Accept and Decline, or why the link
    cannot be used (404 invalid, 410 expired/answered/withdrawn, 403 sent to
    another address, 409 already a member).
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            login_url = apikeys_settings.INVITATION_LOGIN_URL or settings.LOGIN_URL
            return redirect_to_login(request.get_full_path(), login_url)
        return super().dispatch(request, *args, **kwargs)

    def _error(self, request: HttpRequest, exc: ValidationError) -> HttpResponse:
        code = getattr(exc, "code", None) or "invalid_link"
        status = LINK_ERRORS.get(code, (400, None))[0]
        return render(
            request,
            INVITATION_TEMPLATE,
            {"error": " ".join(exc.messages), "code": code},
            status=status,
        )

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            invitation = services.invitation_for_token(token)
            check_usable(invitation, request.user)
            if invitation.organization.memberships.filter(
                user_id=cast(Any, request.user).pk
            ).exists():
                raise InvitationError(LINK_ERRORS["already_member"][1], code="already_member")
        except ValidationError as exc:
            return self._error(request, exc)
        return render(request, INVITATION_TEMPLATE, {"invitation": invitation})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        answer = request.POST.get("answer")
        try:
            if answer == "accept":
                membership = services.accept_invitation(
                    token, request.user, ip_address=client_ip(request)
                )
            elif answer == "decline":
                invitation = services.decline_invitation(
                    token, request.user, ip_address=client_ip(request)
                )
            else:
                return render(
                    request,
                    INVITATION_TEMPLATE,
                    {"error": _("Choose Accept or Decline."), "code": "bad_answer"},
                    status=400,
                )
        except ValidationError as exc:
            return self._error(request, exc)
        if answer == "accept":
            messages.success(
                request,
                _("Welcome to %(org)s. Your role: %(role)s.")
                % {"org": membership.organization.name, "role": membership.role.name},
            )
            return HttpResponseRedirect(
                reverse("django_apikeys:organization_detail", args=[membership.organization_id])
            )
        messages.info(
            request,
            _("You declined the invitation to %(org)s.") % {"org": invitation.organization.name},
        )
        return HttpResponseRedirect(reverse("django_apikeys:organization_list"))


class InvitationView(RateLimitedPostMixin, InvitationPage):
    """:class:`InvitationPage` with its POSTs (accept, decline) rate limited."""
