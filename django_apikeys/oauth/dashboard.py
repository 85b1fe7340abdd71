"""Dashboard pages of the OAuth part (templates extend ``django_apikeys/base.html``).

* per organization, for members with ``organization.manage_api_keys``:
  "OAuth apps" (register — the client secret is shown once, ``no-store`` —,
  roll the secret, delete) and the authorizations users granted in it
  (revoke);
* per user: "Authorized apps" (what each app may do, in which organization,
  last used; revoke).

Views call :mod:`django_apikeys.oauth.services` only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView

from django_apikeys.dashboard.mixins import RateLimitedPostMixin, RolePermissionMixin
from django_apikeys.networks import client_ip

from . import services
from .forms import AppForm
from .models import OAuthApp, OAuthGrant

MANAGE = "organization.manage_api_keys"
NO_STORE = "no-store, no-cache, must-revalidate, max-age=0"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = NO_STORE
    response["Pragma"] = "no-cache"
    return response


class AppMixin(RolePermissionMixin):
    required_permission = MANAGE

    def get_app(self) -> OAuthApp:
        app = (
            OAuthApp.objects.select_related("application")
            .filter(pk=self.kwargs["app_id"], organization=self.organization)
            .first()
        )
        if app is None:
            raise Http404(_("No such OAuth app."))
        return app


class AppListView(AppMixin, TemplateView):
    template_name = "django_apikeys/oauth/app_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        apps = OAuthApp.objects.select_related("application", "created_by").filter(
            organization=self.organization
        )
        context["apps"] = apps
        return context


class AppCreateView(AppMixin, RateLimitedPostMixin, FormView):
    template_name = "django_apikeys/oauth/app_form.html"
    form_class = AppForm

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs.update(organization=self.organization, user=self.request.user)
        return kwargs

    def form_valid(self, form: AppForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            app, secret = services.register_app(
                organization=self.organization,
                name=data["name"],
                description=data.get("description", ""),
                redirect_uris=data["redirect_uris"].split(),
                scopes=data["scopes"],
                confidential=data["client_type"] == "confidential",
                actor=self.request.user,
                ip_address=client_ip(self.request),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        return _no_store(
            render(
                self.request,
                "django_apikeys/oauth/app_secret.html",
                {**self.get_context_data(), "app": app, "client_secret": secret},
            )
        )


class AppRollSecretView(AppMixin, RateLimitedPostMixin, TemplateView):
    template_name = "django_apikeys/oauth/app_confirm.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(app=self.get_app(), action="roll")
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        app = self.get_app()
        try:
            secret = services.roll_secret(app, actor=request.user, ip_address=client_ip(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(
                reverse("django_apikeys_oauth:app_list", args=[self.organization.pk])
            )
        return _no_store(
            render(
                request,
                "django_apikeys/oauth/app_secret.html",
                {
                    **super().get_context_data(),
                    "app": app,
                    "client_secret": secret,
                    "rolled": True,
                },
            )
        )


class AppDeleteView(AppMixin, RateLimitedPostMixin, TemplateView):
    template_name = "django_apikeys/oauth/app_confirm.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(app=self.get_app(), action="delete")
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        app = self.get_app()
        name = app.application.name
        services.delete_app(app, actor=request.user, ip_address=client_ip(request))
        messages.success(request, _("OAuth app “%(name)s” deleted.") % {"name": name})
        return HttpResponseRedirect(
            reverse("django_apikeys_oauth:app_list", args=[self.organization.pk])
        )


def _live_grants() -> Any:
    return OAuthGrant.objects.filter(revoked_at__isnull=True, exchanged_at__isnull=False)


class OrganizationAuthorizationsView(AppMixin, TemplateView):
    """Apps authorized by the organization's members (admins may revoke them)."""

    template_name = "django_apikeys/oauth/authorizations.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["grants"] = (
            _live_grants()
            .filter(organization=self.organization)
            .select_related("application", "user", "organization")
        )
        context["scope"] = "organization"
        return context


class OrganizationRevokeView(AppMixin, RateLimitedPostMixin, TemplateView):
    template_name = "django_apikeys/oauth/authorizations.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grant = OAuthGrant.objects.filter(
            pk=kwargs["grant_id"], organization=self.organization
        ).first()
        if grant is None:
            raise Http404(_("No such authorization."))
        services.revoke_grants(
            OAuthGrant.objects.filter(pk=grant.pk),
            reason=OAuthGrant.RevokedReason.ADMIN,
            actor=request.user,
            ip_address=client_ip(request),
        )
        messages.success(request, _("Authorization revoked: its tokens stop working now."))
        return HttpResponseRedirect(
            reverse("django_apikeys_oauth:org_authorizations", args=[self.organization.pk])
        )


class AuthorizedAppsView(LoginRequiredMixin, TemplateView):
    """The apps the user authorized, per organization."""

    template_name = "django_apikeys/oauth/authorizations.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["grants"] = (
            _live_grants()
            .filter(user_id=self.request.user.pk)
            .select_related("application", "organization")
        )
        context["scope"] = "user"
        return context


class RevokeAuthorizationView(LoginRequiredMixin, RateLimitedPostMixin, TemplateView):
    template_name = "django_apikeys/oauth/authorizations.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grant = OAuthGrant.objects.filter(pk=kwargs["grant_id"], user_id=request.user.pk).first()
        if grant is None:
            raise Http404(_("No such authorization."))
        # Revoking an app revokes every authorization of it by this user in that organization.
        services.revoke_grants(
            OAuthGrant.objects.filter(
                user_id=request.user.pk,
                application_id=grant.application_id,
                organization_id=grant.organization_id,
            ),
            reason=OAuthGrant.RevokedReason.USER,
            actor=request.user,
            ip_address=client_ip(request),
        )
        messages.success(request, _("Access revoked: the app's tokens stop working now."))
        return HttpResponseRedirect(reverse("django_apikeys_oauth:authorized"))
