"""One rule for origins: the service, the dashboard form, the admin and the
authentication check all ask :mod:`django_apikeys.origins`."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from django_apikeys import origins, services
from django_apikeys.dashboard.forms import OriginListField
from tests.factories import OrganizationFactory

NOT_ORIGINS = [
    "https://-bad-.example",
    "https://1.2.3",
    "http://10.0.0.256",
    "ftp://files.example",
    "https://shop.example/path",
    "https://user@shop.example",
    "https://shop.example:0",
    "https://shop.example:65536",
    "*",
    "null",
    "",
]
ORIGINS = {
    "https://shop.example": "https://shop.example",
    "HTTPS://Shop.Example/": "https://shop.example",
    "https://shop.example:443": "https://shop.example",
    "http://localhost:8080": "http://localhost:8080",
    "http://10.0.0.1:80": "http://10.0.0.1",
    "https://xn--bcher-kva.example": "https://xn--bcher-kva.example",
}


@pytest.mark.parametrize("value", NOT_ORIGINS)
def test_not_an_origin_everywhere(value):
    assert origins.normalize_origin(value) is None
    with pytest.raises(ValidationError):
        origins.normalize_origins([value])
    field = OriginListField(max_origins=5, max_length=1000, required=False)
    if value:  # a blank line is skipped by the form, not an origin either way
        with pytest.raises(ValidationError):
            field.clean(value)


@pytest.mark.parametrize(("value", "normalized"), ORIGINS.items())
def test_origins_normalise_the_same_everywhere(value, normalized):
    assert origins.normalize_origin(value) == normalized
    assert origins.normalize_origins([value, normalized]) == [normalized]
    field = OriginListField(max_origins=5, max_length=1000, required=False)
    assert field.clean(value) == [normalized]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["https://-bad-.example", "https://1.2.3", "http://10.0.0.256"])
def test_the_service_refuses_what_the_form_refuses(value):
    with pytest.raises(ValidationError) as info:
        services.create_key(
            organization=OrganizationFactory(),
            key_type="publishable",
            name="widget",
            allowed_origins=[value],
        )
    assert "allowed_origins" in info.value.error_dict


def test_a_string_is_not_a_list_of_origins():
    with pytest.raises(ValidationError):
        origins.normalize_origins("https://shop.example")


@pytest.mark.parametrize(
    ("header", "allowed", "ok"),
    [
        ("https://shop.example", ["https://shop.example"], True),
        ("https://SHOP.example", ["https://shop.example"], True),
        ("https://other.example", ["https://shop.example"], False),
        (None, ["https://shop.example"], False),
        ("", ["https://shop.example"], False),
        ("null", ["https://shop.example"], False),
        # a stored value that is not a normalised list fails closed
        ("https://shop.example", "https://shop.example", False),
        ("https://shop.example", {"https://shop.example": 1}, False),
    ],
)
def test_origin_allowed(header, allowed, ok):
    assert origins.origin_allowed(header, allowed) is ok


def test_is_normalized():
    assert origins.is_normalized(["https://a.example", "https://b.example"])
    assert not origins.is_normalized(["https://b.example", "https://a.example"])
    assert not origins.is_normalized(["HTTPS://a.example"])
    assert not origins.is_normalized("https://a.example")
