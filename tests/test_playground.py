"""The playground endpoint (seed 003): anonymous read-only test keys, one per
fingerprint + IP per window, a lifetime quota per fingerprint that reissuing
never renews, and bounded abuse."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from django_apikeys.conf import apikeys_settings
from django_apikeys.models import APIKey, AuditEvent, PlaygroundGrant
from django_apikeys.services.playground import hash_fingerprint
from tests.needs import missing
from tests.test_profiles import Profile

pytestmark = pytest.mark.django_db

URL = "/api/v1/playground/keys"
FINGERPRINT = "fp-0123456789abcdef"


@pytest.fixture(params=["example.profiles.org_header_test_tier"], ids=["org_header_test_tier"])
def playground(request, settings):
    """The org_header_test_tier profile, whose playground is on (the id names
    the profile, as docs/profiles.rst's test checks)."""
    return Profile(request.param, settings)


def ask(api_client, fingerprint=FINGERPRINT, ip="203.0.113.7"):
    return api_client.post(URL, {"fingerprint": fingerprint}, format="json", REMOTE_ADDR=ip)


def use(api_client, body, method="get", path="/api/v1/clients"):
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {body['key']}",
        "HTTP_X_KLOAKD_ORGANIZATION": body["organization"],
    }
    return getattr(api_client, method)(path, **headers)


def test_off_by_default(api_client, settings):
    settings.APIKEYS = {}
    response = ask(api_client)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert not APIKey.objects.exists()


def test_issues_a_read_only_test_key_to_an_anonymous_visitor(playground, api_client):
    response = ask(api_client)
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["key"].startswith("sk-test-") and body["read_only"] is True
    assert body["remaining_uses"] == 10
    assert body["organization_header"] == "X-Kloakd-Organization"
    assert use(api_client, body).status_code == 200
    refused = use(api_client, body, method="post")
    assert refused.json()["code"] == "read_only_key"
    # The raw key and the raw fingerprint are stored nowhere; their hashes are.
    grant = PlaygroundGrant.objects.get()
    assert grant.fingerprint_hash == hash_fingerprint(FINGERPRINT) != FINGERPRINT
    assert FINGERPRINT not in repr(list(PlaygroundGrant.objects.values()))
    assert body["key"] not in repr(list(APIKey.objects.values()))
    assert body["key"] not in repr(list(AuditEvent.objects.values()))


def test_lifetime_quota_of_ten_calls_never_renewed_by_reissuing(playground, api_client, settings):
    first = ask(api_client).json()
    for _ in range(4):
        assert use(api_client, first).status_code == 200
    # Same fingerprint from another address (the per fingerprint + IP window
    # refuses the same address): a fresh key with the same remaining quota.
    second = ask(api_client, ip="198.51.100.9").json()
    assert second["key"] != first["key"] and second["remaining_uses"] == 6
    assert use(api_client, first).json()["code"] == "key_revoked"
    for _ in range(6):
        assert use(api_client, second).status_code == 200
    assert use(api_client, second).json()["code"] == "quota_exhausted"
    again = ask(api_client, ip="192.0.2.44")
    assert (again.status_code, again.json()["code"]) == (429, "quota_exhausted")
    assert APIKey.objects.filter(is_active=True).count() == 1
    assert PlaygroundGrant.objects.get().issued == 2


def test_a_key_revoked_or_deleted_by_an_operator_ends_the_quota(playground, api_client):
    from django_apikeys import services

    body = ask(api_client).json()
    services.revoke_key(APIKey.objects.get(is_active=True))
    response = ask(api_client, ip="198.51.100.1")
    assert response.json()["code"] == "quota_exhausted"
    other = ask(api_client, fingerprint="another-fingerprint-42", ip="198.51.100.2").json()
    APIKey.objects.filter(hint=other["hint"]).delete()
    response = ask(api_client, fingerprint="another-fingerprint-42", ip="198.51.100.3")
    assert response.json()["code"] == "quota_exhausted"
    assert body["key"] != other["key"]


@pytest.mark.parametrize(
    "data",
    [{}, {"fingerprint": ""}, {"fingerprint": "short"}, {"fingerprint": "has spaces in it!!"}],
)
def test_bad_fingerprints_are_400_not_500(playground, api_client, data):
    response = api_client.post(URL, data, format="json", REMOTE_ADDR="203.0.113.1")
    assert response.status_code == 400
    assert "fingerprint" in response.json()
    assert not APIKey.objects.exists()


def test_abuse_many_requests_from_one_ip_one_fingerprint(playground, api_client):
    codes = [ask(api_client).status_code for _ in range(20)]
    assert codes == [201] + [429] * 19
    refused = ask(api_client)
    assert refused.json()["code"] == "rate_limited" and int(refused["Retry-After"]) > 0
    assert APIKey.objects.count() == 1


def test_abuse_many_fingerprints_from_one_ip(playground, api_client):
    codes = [
        ask(api_client, fingerprint=f"made-up-fingerprint-{n:04d}").status_code for n in range(30)
    ]
    limit = 5  # PLAYGROUND_IP_RATE "5/h"
    assert codes == [201] * limit + [429] * (30 - limit)
    assert APIKey.objects.count() == limit


def test_abuse_one_fingerprint_from_many_ips(playground, api_client):
    codes = [ask(api_client, ip=f"198.51.100.{n}").status_code for n in range(1, 31)]
    assert codes.count(201) <= 10  # PLAYGROUND_FINGERPRINT_RATE "10/h"
    assert codes[10:] == [429] * 20
    # Whatever was issued shares one quota of 10 calls: at most one key works.
    assert APIKey.objects.filter(is_active=True, revoked_at__isnull=True).count() == 1
    assert APIKey.objects.get(is_active=True).remaining_uses == 10


def test_abuse_many_fingerprints_from_many_ips_hit_the_global_ceiling(
    playground, api_client, settings
):
    settings.APIKEYS = {**settings.APIKEYS, "PLAYGROUND_GLOBAL_RATE": "8/h"}
    codes = [
        ask(api_client, fingerprint=f"botnet-fingerprint-{n:04d}", ip=f"10.0.{n}.1").status_code
        for n in range(20)
    ]
    assert codes == [201] * 8 + [429] * 12


def test_unreachable_rate_limit_cache_issues_nothing(playground, api_client, settings):
    """Nothing listens on port 1: the cache really fails; no key, no 500."""
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1",
        },
    }
    settings.RATELIMIT_USE_CACHE = "down"
    response = ask(api_client)
    # The client did nothing wrong: 503 like every other limit, not a 429.
    assert (response.status_code, response.json()["code"]) == (503, "rate_limit_unavailable")
    assert int(response["Retry-After"]) > 0
    assert not APIKey.objects.exists()


@pytest.mark.parametrize(
    "override",
    [
        {"PLAYGROUND_KEY_TYPE": "live"},  # not read-only
        {"PLAYGROUND_KEY_TYPE": "nope"},
        {"PLAYGROUND_RATE": "lots"},
        {"PLAYGROUND_GLOBAL_RATE": "0/h"},
        {"PLAYGROUND_IPV6_PREFIX": 0},
        {"PLAYGROUND_IPV6_PREFIX": "64"},
    ],
)
def test_e003_misconfigured_playground(playground, settings, override):
    settings.APIKEYS = {**settings.APIKEYS, **override}
    assert "django_apikeys.E003" in {m.id for m in run_checks()}


def test_e003_silent_for_the_profile(playground):
    assert apikeys_settings.PLAYGROUND_KEY_TYPE == "test"
    assert "django_apikeys.E003" not in {m.id for m in run_checks()}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_reissues_and_calls_never_create_quota(playground):
    """Reissues racing calls that spend the quota, on real concurrent
    connections: the uses spent plus the quota left on the one live key is
    exactly the lifetime quota, whatever the interleaving."""
    import threading

    from django.db import connection, connections

    from django_apikeys import metering, services

    if connection.vendor != "postgresql":
        missing("needs a database with real concurrent connections (PostgreSQL)")
    services.issue_playground_key(FINGERPRINT, ip_address="203.0.113.7")
    spent: list[bool] = []
    issued: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def spend() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(6):
                current = PlaygroundGrant.objects.select_related("api_key").get().api_key
                ok = metering.consume_quota(current)
                with lock:
                    spent.append(ok)
        finally:
            connections.close_all()

    def reissue() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(3):
                try:
                    services.issue_playground_key(FINGERPRINT, ip_address="198.51.100.1")
                    ok = True
                except Exception:  # quota_exhausted once all is spent
                    ok = False
                with lock:
                    issued.append(ok)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=spend) for _ in range(5)]
    threads += [threading.Thread(target=reissue) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(spent) == 30 and len(issued) == 9
    live = APIKey.objects.filter(is_active=True, revoked_at__isnull=True)
    assert live.count() == 1
    assert spent.count(True) + live.get().remaining_uses == 10
    assert PlaygroundGrant.objects.get().issued == 1 + issued.count(True)


def test_admin_lists_grants_read_only(playground, api_client, client):
    from django.urls import reverse

    from tests.factories import UserFactory

    body = ask(api_client).json()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    changelist = client.get(reverse("admin:django_apikeys_playgroundgrant_changelist"))
    assert changelist.status_code == 200
    page = changelist.content.decode()
    assert hash_fingerprint(FINGERPRINT) in page and body["hint"] in page
    assert FINGERPRINT not in page.replace(hash_fingerprint(FINGERPRINT), "")
    grant = PlaygroundGrant.objects.get()
    delete = reverse("admin:django_apikeys_playgroundgrant_delete", args=[grant.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert PlaygroundGrant.objects.exists()


def test_other_methods_and_bodies_are_clear_errors_not_500(playground, api_client):
    assert api_client.get(URL).status_code == 405
    not_json = api_client.post(URL, "fingerprint=x", content_type="text/plain")
    assert not_json.status_code == 415
    broken = api_client.post(URL, "{not json", content_type="application/json")
    assert (broken.status_code, broken.json()["code"]) == (400, "parse_error")
    assert not APIKey.objects.exists()


def test_addresses_of_one_ipv6_64_share_the_per_ip_limit(playground, api_client):
    """40 addresses of one /64 (one subscriber's allocation) get what one address gets."""
    codes = [
        ask(
            api_client, fingerprint=f"made-up-fingerprint-{n:04d}", ip=f"2001:db8:0:1::{n:x}"
        ).status_code
        for n in range(1, 41)
    ]
    assert codes == [201] * 5 + [429] * 35  # PLAYGROUND_IP_RATE "5/h"
    assert APIKey.objects.count() == 5
    # Another /64 is another subscriber; the audit keeps the full address.
    other = ask(api_client, fingerprint="other-subscriber-0001", ip="2001:db8:0:2::1")
    assert other.status_code == 201
    assert AuditEvent.objects.filter(ip_address="2001:db8:0:2::1").exists()


def test_ipv6_prefix_is_a_setting(playground, api_client, settings):
    settings.APIKEYS = {**settings.APIKEYS, "PLAYGROUND_IPV6_PREFIX": 128}
    codes = [
        ask(
            api_client, fingerprint=f"made-up-fingerprint-{n:04d}", ip=f"2001:db8:0:1::{n:x}"
        ).status_code
        for n in range(1, 9)
    ]
    assert codes == [201] * 8


def test_nobody_can_take_the_playground_slug(playground):
    from django.core.exceptions import ValidationError

    from django_apikeys import services
    from tests.factories import UserFactory

    with pytest.raises(ValidationError) as caught:
        services.create_organization(name="Playground", slug="playground", owner=UserFactory())
    assert caught.value.error_dict["slug"][0].code == "reserved_slug"


def test_keys_never_land_in_an_organization_people_belong_to(playground, api_client):
    """An organization called ``playground`` made before the playground was on
    (or by an operator) is someone's: anonymous keys and addresses stay out."""
    from tests.factories import MembershipFactory, OrganizationFactory

    squatted = OrganizationFactory(slug="playground", name="Playground")
    MembershipFactory(organization=squatted)
    response = ask(api_client)
    assert (response.status_code, response.json()["code"]) == (503, "playground_unavailable")
    assert not APIKey.objects.filter(organization=squatted).exists()
    assert not AuditEvent.objects.filter(organization=squatted, ip_address="203.0.113.7").exists()
