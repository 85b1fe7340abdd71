"""The pipeline classes pointed at :class:`ProjectKey`, as the docs tell sites to."""

from __future__ import annotations

from django_apikeys.authentication import APIKeyAuthentication
from django_apikeys.throttling import APIKeyRateThrottle

from .models import ProjectKey


class ProjectKeyAuthentication(APIKeyAuthentication):
    model = ProjectKey


class ProjectKeyRateThrottle(APIKeyRateThrottle):
    model = ProjectKey
