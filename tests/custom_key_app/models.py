"""A concrete key model of a site's own, next to the bundled ``APIKey``."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from django_apikeys.abstract import AbstractAPIKey
from django_apikeys.managers import APIKeyManager


class ProjectKey(AbstractAPIKey):
    """An API key with one field of the site's own, in the site's own table."""

    project = models.CharField(max_length=50, blank=True, default="")

    objects: ClassVar[APIKeyManager] = APIKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "project key"
