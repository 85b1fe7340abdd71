"""The dashboard: organizations, API keys, members, audit log and usage.

Thin class-based views: :mod:`.mixins` decides who may see a page (a member
of the organization in the URL, with the role permission the view names),
:mod:`.forms` validates input, and each ``form_valid`` calls one service.

Who sees what (permissions of the user's role in the URL's organization):

=============================  =====================================
page                           required permission
=============================  =====================================
switcher                       logged in (lists own organizations)
overview                       ``organization.view_organization``
keys: list, create, roll,      ``organization.manage_api_keys``; with
revoke                         ``organization.manage_own_api_keys`` alone,
                               one's own user keys only
revoke every key (incident)    ``organization.manage_api_keys`` and the
                               Owner role
members: list, add, change,    ``organization.manage_members``
remove; audit log
usage (``usage.py``)           ``organization.manage_billing``; a key's
                               usage also ``organization.manage_api_keys``
=============================  =====================================

The raw key of a new or rolled key exists only in the body of the response
to the POST that made it (rendered directly, ``Cache-Control: no-store``);
it is never put in the session, a message, a URL, a cookie or a log.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from django.views.generic import FormView, ListView, TemplateView

from .. import services
from ..abstract import MANAGE_API_KEYS, MANAGE_MEMBERS, VIEW_ORGANIZATION, action_choices
from ..conf import KeyType, apikeys_settings
from ..models import APIKey, AuditEvent, Membership
from ..networks import client_ip
from .errors import OrganizationPermissionRequired
from .forms import (
    KEY_STATUS_CHOICES,
    AddMemberForm,
    ChangeRoleForm,
    ConfirmForm,
    KeyCreateForm,
    KeyRollForm,
    RevokeAllKeysForm,
    apply_service_errors,
)
from .mixins import (
    FormTokenMixin,
    KeyAccessMixin,
    OrganizationKeyMixin,
    OrganizationMembershipMixin,
    RateLimitedPostMixin,
    RolePermissionMixin,
)
from .usage import KeyUsageView as KeyUsageView  # the usage pages live in usage.py
from .usage import UsageView as UsageView


def can_roll(api_key: APIKey, user: Any) -> bool:
    """Organization keys: any key manager. User keys: their owner only."""
    return api_key.user_id is None or api_key.user_id == user.pk


def choice_param(request: HttpRequest, name: str, allowed: Collection[str], default: str) -> str:
    """The query parameter ``name`` if it is one of ``allowed``, else ``default``
    (a filter in a URL is user input: anything unexpected means "no filter")."""
    value = request.GET.get(name, default)
    return value if value in allowed else default


def show_once(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    """The show-once page: the raw key in this response body and nowhere else.

    ``no-store`` keeps it out of the browser cache and the back/forward cache,
    so going back cannot redisplay it; a reload re-sends the POST, which the
    one-time form token refuses.
    """
    response = TemplateResponse(request, "django_apikeys/key_created.html", context)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0"
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    return response


class DashboardLogoutView(auth_views.LogoutView):
    """Log out (POST only, as Django's ``LogoutView`` since 5.0), for sites
    without a URL named ``logout`` of their own (``LOGIN_URL = "admin:login"``
    sites): the header's "Log out" posts here then. Redirects to
    ``LOGOUT_REDIRECT_URL`` when set, else to the dashboard (which sends an
    anonymous visitor to ``LOGIN_URL``)."""

    http_method_names = ["post", "options"]

    def get_default_redirect_url(self) -> str:
        if settings.LOGOUT_REDIRECT_URL:
            return resolve_url(settings.LOGOUT_REDIRECT_URL)
        return reverse("django_apikeys:organization_list")


class OrganizationListView(LoginRequiredMixin, ListView):
    """The organization switcher: the user's own organizations only."""

    template_name = "django_apikeys/organization_list.html"
    context_object_name = "memberships"

    def get_queryset(self) -> QuerySet[Membership]:
        return (
            Membership.objects.filter(
                user_id=self.request.user.pk, organization__deactivated_at__isnull=True
            )
            .select_related("organization", "role")
            .order_by("organization__name")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_create"] = services.may_create_organization(self.request.user)
        return context


class OrganizationDetailView(RolePermissionMixin, TemplateView):
    template_name = "django_apikeys/organization_detail.html"
    required_permission = VIEW_ORGANIZATION

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        org = self.organization
        context["member_count"] = org.memberships.count()
        if self.has_org_perm(MANAGE_API_KEYS):
            keys = APIKey.objects.filter(organization=org)
            context["active_key_count"] = keys.active().count()
            context["key_count"] = keys.count()
        if self.has_org_perm(MANAGE_MEMBERS):
            context["recent_events"] = AuditEvent.objects.filter(organization=org).select_related(
                "actor"
            )[:5]
        return context


# --- API keys ----------------------------------------------------------------


class KeyListView(KeyAccessMixin, ListView):
    """The organization's keys (organization and user keys), filterable by
    status; a member who manages only their own keys sees only those."""

    template_name = "django_apikeys/key_list.html"
    context_object_name = "api_keys"
    paginate_by = 50

    def get_status(self) -> str:
        return choice_param(self.request, "status", dict(KEY_STATUS_CHOICES), "active")

    def get_environment(self) -> str:
        """The ``?environment=`` filter: one of ``APIKEYS["ENVIRONMENTS"]``, else none."""
        return choice_param(self.request, "environment", apikeys_settings.ENVIRONMENTS, "")

    def get_queryset(self) -> QuerySet[APIKey]:
        keys = self.manageable_keys().select_related("user", "created_by")
        environment = self.get_environment()
        if environment:
            keys = keys.filter(environment=environment)
        status = self.get_status()
        if status == "active":
            return keys.active()
        if status == "revoked":
            return keys.revoked()
        if status == "expired":
            return keys.exclude(pk__in=keys.revoked()).exclude(pk__in=keys.active())
        return keys

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["status"] = self.get_status()
        context["status_choices"] = KEY_STATUS_CHOICES
        context["environments"] = apikeys_settings.ENVIRONMENTS
        context["environment"] = self.get_environment()
        context["key_types"] = apikeys_settings.key_types
        # Publishable keys show their allowed origins, or "any origin".
        context["publishable_types"] = {
            name for name, kt in apikeys_settings.key_types.items() if kt.publishable
        }
        context["owner_role"] = apikeys_settings.OWNER_ROLE
        return context


class KeyCreateView(FormTokenMixin, RateLimitedPostMixin, KeyAccessMixin, FormView):
    """Create a key; the POST answers with the show-once page.

    The key type is picked first (``?type=<name>``, a link per type, no
    JavaScript) because it decides the form: which scopes can be offered,
    ``*`` or not, per-key rate limits for publishable keys. A user-owned key
    made here belongs to the user who creates it. A member who manages only
    their own keys is offered the user-owned types only.
    """

    template_name = "django_apikeys/key_form.html"
    form_class = KeyCreateForm

    def creatable_types(self) -> dict[str, KeyType]:
        return {kt.name: kt for kt in services.creatable_key_types(self.role_permissions)}

    def get_key_type(self) -> KeyType:
        types = self.creatable_types()
        name = self.request.POST.get("key_type") or self.request.GET.get("type")
        if name is not None and name not in apikeys_settings.key_types:
            raise Http404(_("Unknown key type."))
        if not types or (name is not None and name not in types):
            raise OrganizationPermissionRequired(MANAGE_API_KEYS)
        return types[name] if name is not None else next(iter(types.values()))

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs.update(
            key_type=self.get_key_type(), organization=self.organization, user=self.request.user
        )
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["key_types"] = list(self.creatable_types().values())
        context["key_type"] = context["form"].key_type
        return context

    def form_invalid(self, form: Any) -> HttpResponse:
        if not self.form_token_is_valid(form.data.get("form_token", "")):
            return self.replayed(form)
        return super().form_invalid(form)

    def replayed(self, form: Any) -> HttpResponse:
        """A re-sent POST (reload, back + resubmit): create nothing, show a fresh form."""
        fresh = self.get_form_class()(
            initial={"form_token": self.issue_form_token()},
            key_type=form.key_type,
            organization=self.organization,
            user=self.request.user,
        )
        context = self.get_context_data(form=fresh, replayed=True)
        return self.render_to_response(context, status=409)

    @sensitive_variables("raw_key")
    def form_valid(self, form: KeyCreateForm) -> HttpResponse:
        if not self.consume_form_token(form.cleaned_data["form_token"]):
            return self.replayed(form)
        try:
            api_key, raw_key = services.create_key(
                **form.create_kwargs(), ip_address=client_ip(self.request)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc, {"expires_at": "expires_on"})
            self.renew_form_token(form)
            return self.form_invalid(form)
        return show_once(
            self.request,
            self.get_context_data(form=form, api_key=api_key, raw_key=raw_key, rolled_from=None),
        )


class KeyRollView(FormTokenMixin, RateLimitedPostMixin, OrganizationKeyMixin, FormView):
    """Confirm a roll, choose the grace period; the POST shows the new key once.

    A user key acts as its owner, so only its owner may roll it: rolling hands
    the new raw key to whoever asks, and a Manager must not obtain a key that
    acts with an Owner's role. Others may still revoke it.
    """

    template_name = "django_apikeys/key_roll.html"
    form_class = KeyRollForm

    def check_organization_permission(self) -> None:
        super().check_organization_permission()
        if not can_roll(self.api_key, self.request.user):
            raise PermissionDenied(_("Only the owner of a user key can roll it."))

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["api_key"] = self.api_key
        kwargs["compromised"] = self.request.GET.get("compromised") == "1"
        return kwargs

    @sensitive_variables("raw_key")
    def form_valid(self, form: KeyRollForm) -> HttpResponse:
        if not self.consume_form_token(form.cleaned_data["form_token"]):
            form.add_error(None, _("This form was already submitted; the new key was shown once."))
            return self.form_invalid(form)
        try:
            new_key, raw_key = services.roll_key(
                self.api_key,
                actor=self.request.user,
                grace_period=form.grace,
                ip_address=client_ip(self.request),
                compromised=form.cleaned_data["compromised"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            self.renew_form_token(form)
            return self.form_invalid(form)
        return show_once(
            self.request,
            self.get_context_data(
                form=form, api_key=new_key, raw_key=raw_key, rolled_from=self.api_key
            ),
        )


class KeyRevokeView(RateLimitedPostMixin, OrganizationKeyMixin, FormView):
    """Confirmation page; the POST revokes at once (the next API request gets 401)."""

    template_name = "django_apikeys/key_revoke.html"
    form_class = ConfirmForm

    def form_valid(self, form: ConfirmForm) -> HttpResponse:
        if services.revoke_key(
            self.api_key, actor=self.request.user, ip_address=client_ip(self.request)
        ):
            messages.success(
                self.request,
                _("Revoked “%(name)s” (%(hint)s).")
                % {"name": self.api_key.name, "hint": self.api_key.hint},
            )
        else:
            messages.info(self.request, _("That key was already revoked."))
        return HttpResponseRedirect(
            reverse("django_apikeys:key_list", args=[self.organization.pk])
        )


class RevokeAllKeysView(RateLimitedPostMixin, RolePermissionMixin, FormView):
    """The incident action: revoke every key of the organization at once.

    Owners only, after typing the organization's slug; one transaction, an
    audit event, the lookup cache invalidated (see
    :func:`~django_apikeys.services.revoke_all_keys`).
    """

    template_name = "django_apikeys/keys_revoke_all.html"
    form_class = RevokeAllKeysForm
    required_permission = MANAGE_API_KEYS

    def check_organization_permission(self) -> None:
        super().check_organization_permission()
        if self.membership.role.name != apikeys_settings.OWNER_ROLE:
            raise PermissionDenied(_("Only Owners can revoke every key."))

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["organization"] = self.organization
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["active_key_count"] = (
            APIKey.objects.filter(organization=self.organization).active().count()
        )
        return context

    def form_valid(self, form: RevokeAllKeysForm) -> HttpResponse:
        count = services.revoke_all_keys(
            self.organization,
            actor=self.request.user,
            ip_address=client_ip(self.request),
            reason=form.cleaned_data["reason"],
        )
        messages.success(
            self.request,
            _("Revoked every key of %(org)s: %(count)s key(s).")
            % {"org": self.organization, "count": count},
        )
        return HttpResponseRedirect(
            reverse("django_apikeys:key_list", args=[self.organization.pk]) + "?status=revoked"
        )


# --- members -----------------------------------------------------------------


class MemberListView(RateLimitedPostMixin, RolePermissionMixin, FormView):
    """Members and their roles. Members join through invitations by e-mail
    (:mod:`.invitations`); superusers also get the add-by-username form
    (POST adds), which nobody else may use: it would tell whoever asks
    whether a username or address has an account."""

    template_name = "django_apikeys/member_list.html"
    form_class = AddMemberForm
    required_permission = MANAGE_MEMBERS

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_superuser:
            raise PermissionDenied(_("Invite people by e-mail instead."))
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs.update(organization=self.organization, actor=self.request.user)
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["members"] = self.organization.memberships.select_related("user", "role").order_by(
            "-role__rank", "user__username"
        )
        return context

    def form_valid(self, form: AddMemberForm) -> HttpResponse:
        user, role = form.cleaned_data["user"], form.cleaned_data["role"]
        try:
            services.add_member(
                self.organization,
                user,
                role,
                actor=self.request.user,
                ip_address=client_ip(self.request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Added %(user)s as %(role)s.") % {"user": user.get_username(), "role": role},
        )
        return HttpResponseRedirect(self.request.path)


class MemberChangeView(RateLimitedPostMixin, OrganizationMembershipMixin, FormView):
    template_name = "django_apikeys/member_form.html"
    form_class = ChangeRoleForm

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs.update(membership=self.target, actor=self.request.user)
        return kwargs

    def form_valid(self, form: ChangeRoleForm) -> HttpResponse:
        role = form.cleaned_data["role"]
        try:
            services.change_role(
                self.target, role, actor=self.request.user, ip_address=client_ip(self.request)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(user)s is now %(role)s.")
            % {"user": self.target.user.get_username(), "role": role},
        )
        return super().form_valid(form)


class MemberRemoveView(RateLimitedPostMixin, OrganizationMembershipMixin, FormView):
    template_name = "django_apikeys/member_remove.html"
    form_class = ConfirmForm

    def form_valid(self, form: ConfirmForm) -> HttpResponse:
        try:
            services.remove_member(
                self.target, actor=self.request.user, ip_address=client_ip(self.request)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request, _("Removed %(user)s.") % {"user": self.target.user.get_username()}
        )
        if self.target.user_id == self.request.user.pk:
            # Having left, the user may no longer see this organization.
            return HttpResponseRedirect(reverse("django_apikeys:organization_list"))
        return super().form_valid(form)


# --- audit log and usage -----------------------------------------------------


class AuditLogView(RolePermissionMixin, ListView):
    """Who did what in this organization, newest first; filter by ``?action=``."""

    template_name = "django_apikeys/audit_log.html"
    required_permission = MANAGE_MEMBERS
    context_object_name = "events"
    paginate_by = 50

    def get_action(self) -> str:
        return choice_param(self.request, "action", [value for value, _ in action_choices()], "")

    def get_queryset(self) -> QuerySet[AuditEvent]:
        events = AuditEvent.objects.filter(organization=self.organization).select_related("actor")
        action = self.get_action()
        return events.filter(action=action) if action else events

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["action"] = self.get_action()
        context["action_choices"] = action_choices()
        return context
