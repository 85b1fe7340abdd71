"""Organization pages: create, settings (rename, slug, plan), transfer
ownership, leave and delete.

=============================  ==============================================
page                           who
=============================  ==============================================
create (``new/``)              ``APIKEYS["ORGANIZATION_CREATION"]``
settings: view plan, limits    ``organization.view_organization``
settings: rename, change slug  ``organization.delete_organization`` (Owner)
transfer ownership             an Owner (``organization.delete_organization``
                               and the ``OWNER_ROLE``)
delete                         ``organization.delete_organization``
leave                          any member (not the last Owner)
=============================  ==============================================
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView

from .. import services
from ..abstract import DELETE_ORGANIZATION, VIEW_ORGANIZATION
from ..conf import apikeys_settings
from ..networks import client_ip
from .forms import ConfirmForm, apply_service_errors
from .mixins import (
    DashboardErrorPagesMixin,
    OrganizationMixin,
    RateLimitedPostMixin,
    RolePermissionMixin,
)
from .organization_forms import OrganizationForm, TransferOwnershipForm, TypedConfirmForm

#: The reference table's "Manage Org" column (Owner only) is this permission.
MANAGE_ORGANIZATION = DELETE_ORGANIZATION


def _organization_home(organization: Any) -> HttpResponseRedirect:
    return HttpResponseRedirect(
        reverse("django_apikeys:organization_detail", args=[organization.pk])
    )


class OrganizationCreateView(
    DashboardErrorPagesMixin, RateLimitedPostMixin, LoginRequiredMixin, FormView
):
    """Create an organization; the creator becomes its Owner."""

    template_name = "django_apikeys/organization_form.html"
    form_class = OrganizationForm

    def dispatch_page(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not services.may_create_organization(request.user):
            raise PermissionDenied(_("You may not create organizations on this site."))
        return super().dispatch_page(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "slug_required": False}

    def form_valid(self, form: OrganizationForm) -> HttpResponse:
        try:
            organization = services.create_organization(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data.get("slug") or None,
                owner=self.request.user,
                ip_address=client_ip(self.request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Created %(name)s. You are its Owner.") % {"name": organization.name},
        )
        return _organization_home(organization)


class OrganizationSettingsView(RateLimitedPostMixin, RolePermissionMixin, FormView):
    """The plan with its entitlements and limits (read-only) for every member;
    rename and change the slug for Owners."""

    template_name = "django_apikeys/organization_settings.html"
    form_class = OrganizationForm
    required_permission = VIEW_ORGANIZATION

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.require_org_perm(MANAGE_ORGANIZATION, _("Only an Owner can change the organization."))
        return super().post(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        return {"name": self.organization.name, "slug": self.organization.slug}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        plan = self.organization.plan
        context.update(
            plan=plan,
            can_manage=self.has_org_perm(MANAGE_ORGANIZATION),
            is_owner=self.membership.role.name == apikeys_settings.OWNER_ROLE,
        )
        return context

    def form_valid(self, form: OrganizationForm) -> HttpResponse:
        try:
            changes = services.update_organization(
                self.organization,
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                actor=self.request.user,
                ip_address=client_ip(self.request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        if changes:
            messages.success(self.request, _("Saved the organization's settings."))
        else:
            messages.info(self.request, _("Nothing changed."))
        return HttpResponseRedirect(self.request.path)


class OrganizationDeleteView(RateLimitedPostMixin, RolePermissionMixin, FormView):
    """Typed confirmation of the slug; the POST deactivates the organization at once."""

    template_name = "django_apikeys/organization_delete.html"
    form_class = TypedConfirmForm
    required_permission = MANAGE_ORGANIZATION

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "expected": self.organization.slug}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["retention_days"] = apikeys_settings.ORGANIZATION_RETENTION // 86400
        return context

    def form_valid(self, form: TypedConfirmForm) -> HttpResponse:
        services.delete_organization(
            self.organization, actor=self.request.user, ip_address=client_ip(self.request)
        )
        messages.success(
            self.request,
            _("Deleted %(name)s. Its API keys no longer work.") % {"name": self.organization.name},
        )
        return HttpResponseRedirect(reverse("django_apikeys:organization_list"))


class OwnershipTransferView(RateLimitedPostMixin, RolePermissionMixin, FormView):
    """An Owner makes another member Owner and takes another role."""

    template_name = "django_apikeys/organization_transfer.html"
    form_class = TransferOwnershipForm
    required_permission = MANAGE_ORGANIZATION

    def check_organization_permission(self) -> None:
        super().check_organization_permission()
        if self.membership.role.name != apikeys_settings.OWNER_ROLE:
            raise PermissionDenied(_("Only an Owner can transfer ownership."))

    def get_form_kwargs(self) -> dict[str, Any]:
        return {
            **super().get_form_kwargs(),
            "organization": self.organization,
            "actor": self.request.user,
        }

    def form_valid(self, form: TransferOwnershipForm) -> HttpResponse:
        member = form.cleaned_data["member"]
        try:
            services.transfer_ownership(
                self.organization,
                member,
                actor=self.request.user,
                new_role=form.cleaned_data["new_role"],
                ip_address=client_ip(self.request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(user)s is now an Owner; you are %(role)s.")
            % {"user": member.user.get_username(), "role": form.cleaned_data["new_role"]},
        )
        return _organization_home(self.organization)


class LeaveOrganizationView(RateLimitedPostMixin, OrganizationMixin, FormView):
    """Any member may leave, except the last Owner (who is told why)."""

    template_name = "django_apikeys/organization_leave.html"
    form_class = ConfirmForm

    def form_valid(self, form: ConfirmForm) -> HttpResponse:
        try:
            services.leave_organization(self.membership, ip_address=client_ip(self.request))
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("You left %(name)s.") % {"name": self.organization.name})
        return HttpResponseRedirect(reverse("django_apikeys:organization_list"))
