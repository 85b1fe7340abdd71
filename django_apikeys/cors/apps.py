from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CorsConfig(AppConfig):
    name = "django_apikeys.cors"
    label = "django_apikeys_cors"
    verbose_name = _("CORS for browser keys")

    def ready(self) -> None:
        # Imported here, not at the top: the handlers use the key models,
        # which are not loaded when this module is.
        from corsheaders.signals import check_request_enabled

        from . import checks, handlers  # noqa: F401  (registers the system checks)

        check_request_enabled.connect(
            handlers.cors_allow_browser_keys, dispatch_uid="django_apikeys_cors"
        )
        handlers.connect_key_models()
