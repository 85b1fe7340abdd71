from __future__ import annotations

from django.apps import AppConfig


class CustomKeyAppConfig(AppConfig):
    name = "tests.custom_key_app"
    label = "custom_key_app"
    default_auto_field = "django.db.models.BigAutoField"
