from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OAuthConfig(AppConfig):
    name = "django_apikeys.oauth"
    label = "django_apikeys_oauth"
    verbose_name = _("OAuth apps")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (registers checks and signal receivers)

        try:
            import drf_spectacular  # noqa: F401
        except ImportError:
            return
        from . import openapi  # noqa: F401  (registers the OAuth token scheme)
