from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OAuthConfig(AppConfig):
    name = "django_apikeys.oauth"
    label = "django_apikeys_oauth"
    verbose_name = _("OAuth apps")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ..abstract import register_action_labels
        from . import checks, receivers, services  # noqa: F401  (importing registers them)

        register_action_labels(
            {
                services.APP_CREATED: _("OAuth app registered"),
                services.APP_SECRET_ROLLED: _("OAuth app secret rolled"),
                services.APP_DELETED: _("OAuth app deleted"),
                services.GRANT_REVOKED: _("OAuth authorization revoked"),
            }
        )

        try:
            import drf_spectacular  # noqa: F401
        except ImportError:
            return
        from . import openapi  # noqa: F401  (registers the OAuth token scheme)
