"""drf-spectacular is optional: without it the app starts, the extension is
not loaded, and the management API works (its schema decorators do nothing)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import sys
    for name in ("drf_spectacular", "drf_spectacular_sidecar"):
        sys.modules[name] = None  # as if not installed: importing it fails

    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="x",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "rest_framework",
            "django_apikeys",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        ROOT_URLCONF="django_apikeys.api.urls",
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "django_apikeys.authentication.APIKeyAuthentication",
            ],
            "EXCEPTION_HANDLER": "django_apikeys.exceptions.exception_handler",
        },
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    from django_apikeys import services
    from django_apikeys.models import Membership, Organization, Role

    user = User.objects.create(username="owner")
    org = Organization.objects.create(name="Acme", slug="acme")
    Membership.objects.create(user=user, organization=org, role=Role.objects.get(name="Owner"))
    _key, raw = services.create_key(
        organization=org, key_type="user", name="k", user=user, scopes=["*"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + raw)
    listed = client.get("/organizations/")
    created = client.post(
        "/organizations/acme/keys/",
        {"name": "ci", "key_type": "server", "scopes": ["clients:read"]},
        format="json",
    )
    assert "django_apikeys.openapi" not in sys.modules
    print(listed.status_code, created.status_code, listed.json()["count"])
    """
)


def test_management_api_without_drf_spectacular():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "201", "1"]
