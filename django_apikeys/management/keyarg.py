"""The key argument of the key commands: an id (UUID), or ``-`` to read the
raw key from standard input (so it stays out of shell history)."""

from __future__ import annotations

import sys
import uuid
from typing import Any

from django.core.management.base import CommandError
from django.views.decorators.debug import sensitive_variables

from django_apikeys import keys
from django_apikeys.models import APIKey

HELP = "Key id (UUID), or '-' to read the raw key from stdin."


@sensitive_variables("raw")
def key_from_argument(value: str, stdin: Any = None) -> APIKey:
    """The key named by ``value``; ``CommandError`` if there is none."""
    if value == "-":
        raw = (stdin or sys.stdin).readline().strip()
        api_key = APIKey.objects.filter(hashed_key=keys.hash_key(raw)).first()
    else:
        try:
            api_key = APIKey.objects.filter(pk=uuid.UUID(value)).first()
        except ValueError:
            raise CommandError(
                "Give the key's id (a UUID). To name it by the raw key, pass '-' and "
                "pipe the key on standard input, so it stays out of shell history."
            ) from None
    if api_key is None:
        raise CommandError("No such API key.")
    return api_key
