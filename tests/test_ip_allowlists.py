"""Per-key IP allowlists and the client address: one rule in
:mod:`django_apikeys.networks`, asked by the service, the forms and the
authentication class; IPv6 origins in :mod:`django_apikeys.origins`."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from django_apikeys import networks, origins
from django_apikeys.models import APIKey
from tests.factories import make_key

ME = "/api/v1/me"


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


# --- the pure rule -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.0/24 ", "203.0.113.0/24"),
        ("203.0.113.7/32", "203.0.113.7"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("2001:db8::1/128", "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
    ],
)
def test_entries_normalise(value, stored):
    assert networks.normalize_network(value) == stored
    assert networks.normalize_networks([value, stored]) == [stored]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "localhost",
        "203.0.113",
        "203.0.113.256",
        "10.0.0.5/24",
        "2001:db8::1/32",
        "1.2.3.4/33",
        5,
    ],
)
def test_bad_entries_are_refused(value):
    assert networks.normalize_network(value) is None
    with pytest.raises(ValidationError) as info:
        networks.normalize_networks([value])
    assert info.value.error_dict["allowed_ips"][0].code == "invalid_ip"


def test_a_string_is_not_a_list_and_the_list_is_bounded():
    with pytest.raises(ValidationError):
        networks.normalize_networks("10.0.0.1")
    with pytest.raises(ValidationError):
        networks.normalize_networks([f"10.0.{i // 256}.{i % 256}" for i in range(101)])
    assert len(networks.normalize_networks([f"10.0.0.{i}" for i in range(100)])) == 100


@pytest.mark.parametrize(
    ("address", "allowed", "ok"),
    [
        ("203.0.113.7", ["203.0.113.7"], True),
        ("203.0.113.8", ["203.0.113.7"], False),
        ("203.0.113.200", ["203.0.113.0/24"], True),
        ("203.0.114.1", ["203.0.113.0/24"], False),
        ("2001:db8:1::5", ["2001:db8::/32"], True),
        ("2001:db9::5", ["2001:db8::/32"], False),
        ("::ffff:203.0.113.7", ["203.0.113.7"], True),
        ("203.0.113.7", ["2001:db8::/32"], False),
        ("fe80::1%eth0", ["fe80::/10"], True),
        (None, ["0.0.0.0/0"], False),
        ("not an ip", ["0.0.0.0/0"], False),
        ("203.0.113.7", "203.0.113.7", False),  # not a list: fail closed
        ("203.0.113.7", ["garbage"], False),
    ],
)
def test_ip_allowed(address, allowed, ok):
    assert networks.ip_allowed(address, allowed) is ok


def _request(remote="198.51.100.9", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("num_proxies", "remote", "forwarded", "client"),
    [
        # No proxy declared: the header is ignored, whatever it says.
        (None, "203.0.113.7", "10.0.0.1", "203.0.113.7"),
        (0, "203.0.113.7", "10.0.0.1", "203.0.113.7"),
        # One trusted proxy: the entry it appended (the last).
        (1, "10.0.0.2", "203.0.113.7", "203.0.113.7"),
        # A forged entry in front of it is not taken.
        (1, "10.0.0.2", "192.0.2.66, 203.0.113.7", "203.0.113.7"),
        (2, "10.0.0.2", "192.0.2.66, 203.0.113.7, 10.0.0.3", "203.0.113.7"),
        # Fewer entries than proxies, or garbage: unknown.
        (2, "10.0.0.2", "203.0.113.7", None),
        (1, "10.0.0.2", "203.0.113.7, not-an-ip", None),
        # Proxies declared but the request did not pass through them.
        (1, "203.0.113.7", None, "203.0.113.7"),
    ],
)
def test_client_ip(num_proxies, remote, forwarded, client):
    request = _request(remote, forwarded)
    assert networks.client_ip(request, num_proxies) == client


def test_client_ip_reads_num_proxies_from_settings(settings):
    request = _request("10.0.0.2", "192.0.2.66, 203.0.113.7")
    assert networks.client_ip(request) == "10.0.0.2"
    settings.APIKEYS = {"NUM_PROXIES": 1}
    assert networks.client_ip(request) == "203.0.113.7"


# --- IPv6 origins ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://[2001:DB8:0:0:0:0:0:1]", "https://[2001:db8::1]"),
        ("https://[2001:db8::1]:443/", "https://[2001:db8::1]"),
        ("http://[2001:db8:0:1:0:0:0:1]", "http://[2001:db8:0:1::1]"),
        ("http://[1:0:0:2:0:0:0:3]", "http://[1:0:0:2::3]"),
        ("http://[1:2:3:4:5:6:7:8]", "http://[1:2:3:4:5:6:7:8]"),
        ("http://[1:0:3:4:5:6:7:8]", "http://[1:0:3:4:5:6:7:8]"),
        ("http://[::ffff:192.0.2.1]", "http://[::ffff:c000:201]"),
    ],
)
def test_ipv6_origins(value, normalized):
    assert origins.normalize_origin(value) == normalized
    assert origins.origin_allowed(normalized, [normalized])


@pytest.mark.parametrize("value", ["http://[::g]", "http://[::1%eth0]", "http://::1", "http://[]"])
def test_bad_ipv6_origins(value):
    assert origins.normalize_origin(value) is None


# --- the service and authentication ----------------------------------------------


@pytest.mark.django_db
def test_create_key_stores_normalised_networks():
    api_key, _ = make_key(allowed_ips=["203.0.113.7/32", "2001:DB8::/32", "203.0.113.7"])
    assert api_key.allowed_ips == ["2001:db8::/32", "203.0.113.7"]
    with pytest.raises(ValidationError) as info:
        make_key(allowed_ips=["10.0.0.5/24"])
    assert "allowed_ips" in info.value.error_dict


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("allowed", "meta", "status"),
    [
        (["203.0.113.7"], {"REMOTE_ADDR": "203.0.113.7"}, 200),
        (["203.0.113.7"], {"REMOTE_ADDR": "203.0.113.8"}, 403),
        (["203.0.113.0/24"], {"REMOTE_ADDR": "203.0.113.99"}, 200),
        (["2001:db8::/32"], {"REMOTE_ADDR": "2001:db8:ffff::1"}, 200),
        (["2001:db8::/32"], {"REMOTE_ADDR": "2001:db9::1"}, 403),
        # No proxy declared: a forged header does not help.
        (
            ["203.0.113.7"],
            {"REMOTE_ADDR": "198.51.100.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"},
            403,
        ),
        ([], {"REMOTE_ADDR": "198.51.100.1"}, 200),
    ],
)
def test_authentication_checks_the_allowlist(api_client, allowed, meta, status):
    _, raw = make_key(allowed_ips=allowed)
    response = api_client.get(ME, **meta, **bearer(raw))
    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "ip_not_allowed"
        assert response.json()["type"] == "ForbiddenError"


@pytest.mark.django_db
def test_one_trusted_proxy(api_client, settings):
    settings.APIKEYS = {"NUM_PROXIES": 1}
    _, raw = make_key(allowed_ips=["203.0.113.7"])
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    ok = api_client.get(ME, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy, **bearer(raw))
    assert ok.status_code == 200
    # The client wrote the allowed address itself; the proxy appended the real one.
    forged = api_client.get(
        ME, HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.1", **proxy, **bearer(raw)
    )
    assert forged.status_code == 403 and forged.json()["code"] == "ip_not_allowed"


@pytest.mark.django_db
def test_last_used_ip_is_written_with_last_used(api_client, settings):
    settings.APIKEYS = {"NUM_PROXIES": 1}
    api_key, raw = make_key()
    api_client.get(ME, HTTP_X_FORWARDED_FOR="2001:db8::7", REMOTE_ADDR="10.0.0.2", **bearer(raw))
    api_key.refresh_from_db()
    assert api_key.last_used is not None and api_key.last_used_ip == "2001:db8::7"
    first = api_key.last_used
    # Within the interval: no write, so the address is not updated either.
    api_client.get(ME, HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.2", **bearer(raw))
    api_key.refresh_from_db()
    assert (api_key.last_used, api_key.last_used_ip) == (first, "2001:db8::7")


@pytest.mark.django_db
def test_a_rolled_key_keeps_its_allowlist():
    from django_apikeys import services

    api_key, _ = make_key(allowed_ips=["203.0.113.0/24"])
    new, _ = services.roll_key(api_key)
    assert APIKey.objects.get(pk=new.pk).allowed_ips == ["203.0.113.0/24"]
