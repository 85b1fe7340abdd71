from django.apps import apps
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

urlpatterns = [
    path("", RedirectView.as_view(url="/apikeys/", permanent=False)),
    # Browsers ask for /favicon.ico on pages without an icon link (the API, the admin).
    path("favicon.ico", RedirectView.as_view(url=static("django_apikeys/favicon.svg"))),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("apikeys/", include("django_apikeys.urls")),
    path("api/manage/", include("django_apikeys.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Off (404) unless APIKEYS["PLAYGROUND_KEY_TYPE"] is set (org_header_test_tier).
    path("api/v1/playground/", include("django_apikeys.playground")),
    path("", include("example.api.urls")),
]

if apps.is_installed("django_apikeys.oauth"):
    # OAuth 2.0 endpoints (the scoped_user_keys paths), JWKS, RFC 8414 metadata,
    # dashboard pages.
    urlpatterns.append(path("", include("django_apikeys.oauth.urls")))
