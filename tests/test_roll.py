"""Rolling a key: the replacement keeps the lifetime; a key rolls once."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from django_apikeys import services
from tests.factories import make_key

pytestmark = pytest.mark.django_db


# --- rolling -------------------------------------------------------------------------


def test_roll_keeps_the_lifetime_and_happens_once():
    api_key, _ = make_key(expires_at=timezone.now() + datetime.timedelta(days=7))
    new, _ = services.roll_key(api_key)
    lifetime = new.expires_at - new.created_at
    assert datetime.timedelta(days=6, hours=23) < lifetime <= datetime.timedelta(days=7)
    with pytest.raises(ValidationError) as exc:
        services.roll_key(api_key)
    assert exc.value.code == "already_rolled"
    services.roll_key(new)  # the replacement rolls
    forever, _ = make_key(api_key.organization, name="forever")
    assert services.roll_key(forever)[0].expires_at is None
