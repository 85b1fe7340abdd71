"""URLs of the OAuth part: ``path("", include("django_apikeys.oauth.urls"))``.

The protocol endpoints sit at the paths of the ``scoped_user_keys`` reference
design; the dashboard pages (OAuth apps per organization, authorized apps)
under ``apikeys/oauth/``.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import dashboard, views

app_name = "django_apikeys_oauth"

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/auth/oauth2/authorize", views.AuthorizeView.as_view(), name="authorize"),
    path("api/auth/oauth2/token", views.TokenView.as_view(), name="token"),
    path("api/auth/oauth2/revoke", views.RevokeTokenView.as_view(), name="revoke"),
    path(".well-known/jwks.json", views.JWKSView.as_view(), name="jwks"),
    path(
        ".well-known/oauth-authorization-server",
        views.MetadataView.as_view(),
        name="metadata",
    ),
    path("apikeys/oauth/authorized/", dashboard.AuthorizedAppsView.as_view(), name="authorized"),
    path(
        "apikeys/oauth/authorized/<uuid:grant_id>/revoke/",
        dashboard.RevokeAuthorizationView.as_view(),
        name="authorized_revoke",
    ),
    path("apikeys/<uuid:org_id>/oauth/apps/", dashboard.AppListView.as_view(), name="app_list"),
    path(
        "apikeys/<uuid:org_id>/oauth/apps/new/",
        dashboard.AppCreateView.as_view(),
        name="app_create",
    ),
    path(
        "apikeys/<uuid:org_id>/oauth/apps/<int:app_id>/roll/",
        dashboard.AppRollSecretView.as_view(),
        name="app_roll",
    ),
    path(
        "apikeys/<uuid:org_id>/oauth/apps/<int:app_id>/delete/",
        dashboard.AppDeleteView.as_view(),
        name="app_delete",
    ),
    path(
        "apikeys/<uuid:org_id>/oauth/authorizations/",
        dashboard.OrganizationAuthorizationsView.as_view(),
        name="org_authorizations",
    ),
    path(
        "apikeys/<uuid:org_id>/oauth/authorizations/<uuid:grant_id>/revoke/",
        dashboard.OrganizationRevokeView.as_view(),
        name="org_authorization_revoke",
    ),
]
