from __future__ import annotations

from importlib.util import find_spec

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoAPIKeysConfig(AppConfig):
    name = "django_apikeys"
    verbose_name = _("API keys")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: checks and receivers use the models,
        # which are not loaded when this module is.
        from . import checks, receivers  # noqa: F401  (registers checks and receivers)

        receivers.connect_key_models()

        if find_spec("drf_spectacular") is not None:
            # Registers the OpenAPI extension; drf-spectacular is optional.
            from . import openapi  # noqa: F401
