from __future__ import annotations

from importlib.util import find_spec

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoAPIKeysConfig(AppConfig):
    name = "django_apikeys"
    verbose_name = _("API keys")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (registers checks and signal receivers)

        if find_spec("drf_spectacular") is not None:
            # Registers the OpenAPI extension; drf-spectacular is optional.
            from . import openapi  # noqa: F401
