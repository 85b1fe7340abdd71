"""Pointing the site's mail at a real SMTP port, the way the running Django wants it:
``MAILERS`` on Django 6.1+ (the ``EMAIL_*`` settings are deprecated there and not
allowed beside it), the ``EMAIL_*`` settings before."""

from __future__ import annotations

from typing import Any

import django

SMTP = "django.core.mail.backends.smtp.EmailBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
USES_MAILERS = django.VERSION >= (6, 1)


def use_smtp(settings: Any, port: int, timeout: int) -> None:
    """Send through SMTP on 127.0.0.1:``port`` (``settings``: pytest-django's fixture)."""
    if USES_MAILERS:
        options = {"host": "127.0.0.1", "port": port, "timeout": timeout}
        settings.MAILERS = {"default": {"BACKEND": SMTP, "OPTIONS": options}}
    else:
        settings.EMAIL_BACKEND = SMTP
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
            "127.0.0.1",
            port,
            timeout,
        )


def use_locmem(settings: Any) -> None:
    """Back to the test outbox (``django.core.mail.outbox``)."""
    if USES_MAILERS:
        settings.MAILERS = {"default": {"BACKEND": LOCMEM}}
    else:
        settings.EMAIL_BACKEND = LOCMEM
