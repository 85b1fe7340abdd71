"""The django-oauth-toolkit token the compatibility site's tests send."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model

DOT_TOKEN = "dot-opaque-token-0123456789"


def dot_token(user: Any, scope: str = "widgets:read") -> str:
    """An opaque django-oauth-toolkit access token of ``user`` (an hour long)."""
    application = get_application_model().objects.create(
        name="site app",
        user=user,
        client_type="confidential",
        authorization_grant_type="client-credentials",
    )
    get_access_token_model().objects.create(
        user=user,
        application=application,
        token=DOT_TOKEN,
        expires=timezone.now() + datetime.timedelta(hours=1),
        scope=scope,
    )
    return DOT_TOKEN
