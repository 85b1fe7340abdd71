"""The authorization server's endpoints (paths: ``urls.py``).

The authorize, token and revoke endpoints are django-oauth-toolkit's views;
:class:`AuthorizeView` adds the organization choice and the scope
intersection to its consent step. JWKS and RFC 8414 metadata are plain JSON.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from oauth2_provider import views as dot_views
from oauth2_provider.models import get_application_model

from django_apikeys.models import Membership

from . import services, tokens
from .conf import oauth_settings
from .forms import ConsentForm
from .models import OAuthApp


class AuthorizeView(dot_views.AuthorizationView):
    """``GET /api/auth/oauth2/authorize``: login, then the consent page.

    The user picks one of their organizations; granted scopes = requested ∩
    the app's registered scopes ∩ the user's role scopes there. Invalid
    ``client_id`` or ``redirect_uri`` renders an error page (never a redirect).
    """

    template_name = "django_apikeys/oauth/authorize.html"
    form_class = ConsentForm

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Never auto-approve: the user must pick the organization every time.
        if "approval_prompt" in request.GET:
            query = request.GET.copy()
            query.pop("approval_prompt")
            request.GET = query  # type: ignore[assignment]
        return super().get(request, *args, **kwargs)  # type: ignore[no-any-return]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        application = context.get("application")
        if application is not None and not context.get("error"):
            context.update(self._consent_context(application, context.get("scopes") or []))
        return context

    def _consent_context(self, application: Any, requested: list[str]) -> dict[str, Any]:
        app = (
            OAuthApp.objects.select_related("organization").filter(application=application).first()
        )
        app_scopes = list(app.scopes) if app else []
        memberships = (
            Membership.objects.select_related("organization", "role")
            .filter(user_id=self.request.user.pk, organization__deactivated_at__isnull=True)
            .order_by("organization__name")
        )
        choices = []
        for membership in memberships:
            granted = services.granted_scopes(requested, app_scopes, membership.role.scopes)
            choices.append(
                {
                    "organization": membership.organization,
                    "role": membership.role,
                    "granted": [(s, services.describe_scope(s)) for s in granted],
                    "withheld": [
                        (s, services.describe_scope(s))
                        for s in services.granted_scopes(requested, app_scopes, ["*"])
                        if s not in granted
                    ],
                }
            )
        return {
            "oauth_app": app,
            "requested_scopes": [
                (s, services.describe_scope(s))
                for s in services.granted_scopes(requested, ["*"], ["*"])
            ],
            "organization_choices": choices,
        }

    def _error_page(self, message: Any, status: int = 400) -> HttpResponse:
        return self.render_to_response(
            {"error": {"error": "invalid_request", "description": message}}, status=status
        )

    def form_valid(self, form: ConsentForm) -> HttpResponse:  # type: ignore[override]
        Application = get_application_model()
        application = Application.objects.filter(client_id=form.cleaned_data["client_id"]).first()
        if application is None or not application.redirect_uri_allowed(
            form.cleaned_data["redirect_uri"]
        ):
            return self._error_page(_("Unknown client or redirect URI."))
        self._granted: list[str] = []
        self._organization_id: Any = None
        if form.cleaned_data.get("allow"):
            organization = form.cleaned_data.get("organization")
            membership = (
                Membership.objects.select_related("role")
                .filter(
                    user_id=self.request.user.pk,
                    organization=organization,
                    organization__deactivated_at__isnull=True,
                )
                .first()
            )
            if organization is None or membership is None:
                return self._error_page(_("Pick one of your organizations."))
            app = OAuthApp.objects.filter(application=application).first()
            try:
                requested = form.cleaned_data.get("scope", "").split()
                self._granted = services.granted_scopes(
                    requested, app.scopes if app else [], membership.role.scopes
                )
            except ValidationError:  # a scope with bad grammar (tampered form)
                self._granted = []
            if not self._granted:
                return self._error_page(
                    _(
                        "Your role in %(org)s grants none of the permissions this app asks "
                        "for. Go back and pick another organization."
                    )
                    % {"org": organization.name}
                )
            self._organization_id = organization.pk
        return super().form_valid(form)  # type: ignore[no-any-return]

    def form_invalid(self, form: ConsentForm) -> HttpResponse:  # type: ignore[override]
        return self._error_page(_("The consent form was incomplete; start again from the app."))

    def create_authorization_response(  # type: ignore[no-untyped-def]
        self, request, scopes, credentials, allow, *args, **kwargs
    ):
        if allow:
            credentials["apikeys_organization_id"] = self._organization_id
            scopes = " ".join(self._granted)
        return super().create_authorization_response(
            request, scopes, credentials, allow, *args, **kwargs
        )


class TokenView(dot_views.TokenView):
    """``POST /api/auth/oauth2/token`` (authorization_code, refresh_token)."""


class RevokeTokenView(dot_views.RevokeTokenView):
    """``POST /api/auth/oauth2/revoke`` (RFC 7009): revokes the whole authorization."""


class JWKSView(View):
    """``GET /.well-known/jwks.json``: the public keys, each with its ``kid``."""

    def get(self, request: HttpRequest) -> HttpResponse:
        response = JsonResponse(tokens.jwks())
        response["Cache-Control"] = "public, max-age=300"
        response["Access-Control-Allow-Origin"] = "*"
        return response


class MetadataView(View):
    """``GET /.well-known/oauth-authorization-server`` (RFC 8414)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        issuer = str(oauth_settings.ISSUER or request.build_absolute_uri("/").rstrip("/"))
        # Endpoints on the issuer's origin, like the issuer itself: a request's
        # Host header must not choose where clients send codes and secrets.
        parts = urlsplit(issuer)
        origin = f"{parts.scheme}://{parts.netloc}"

        def url(name: str) -> str:
            return origin + reverse(name)

        metadata = {
            "issuer": issuer,
            "authorization_endpoint": url("django_apikeys_oauth:authorize"),
            "token_endpoint": url("django_apikeys_oauth:token"),
            "revocation_endpoint": url("django_apikeys_oauth:revoke"),
            "jwks_uri": url("django_apikeys_oauth:jwks"),
            "scopes_supported": services.vocabulary(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
        }
        response = JsonResponse(metadata)
        response["Access-Control-Allow-Origin"] = "*"
        return response
