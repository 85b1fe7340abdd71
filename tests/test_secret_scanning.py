"""The secret-scanning receiver, end to end over HTTP: a real ECDSA P-256 key
pair, GitHub's public-key document served by a local HTTP server on
127.0.0.1, payloads signed over the raw body."""

from __future__ import annotations

import base64
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_apikeys import keys, signals
from django_apikeys.models import APIKey, AuditEvent
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key
from tests.scanning_keys import KeyServer, payload, sign
from tests.test_raw_key_nowhere import dump_database

pytestmark = pytest.mark.django_db
URL = "/apikeys/secret-scanning/github/"


@pytest.fixture
def key_server():
    server = KeyServer()
    server.add_key("kid-1")
    yield server
    server.stop()


@pytest.fixture
def scanning(settings, key_server):
    settings.APIKEYS = {
        "SECRET_SCANNING_ENABLED": True,
        "GITHUB_PUBLIC_KEYS_URL": key_server.url,
        "SECRET_SCANNING_FETCH_TIMEOUT": 2,
    }
    return key_server


_capture = None


@pytest.fixture(autouse=True)
def _on_commit(django_capture_on_commit_callbacks):
    """Run on-commit work (signals, e-mail) as each request's transaction ends."""
    global _capture
    _capture = django_capture_on_commit_callbacks
    yield
    _capture = None


def post(client, body: bytes, kid: str = "kid-1", signature: str | None = None, key=None):
    headers = {"Github-Public-Key-Identifier": kid}
    if signature is not None or key is not None:
        headers["Github-Public-Key-Signature"] = signature or sign(key, body)
    assert _capture is not None
    with _capture(execute=True):
        return client.post(URL, body, content_type="application/json", headers=headers)


@pytest.fixture
def leaked():
    owner = MembershipFactory(user=UserFactory(email="owner@example.com"))
    creator = UserFactory(email="creator@example.com")
    api_key, raw = make_key(owner.organization, created_by=None)
    APIKey.objects.filter(pk=api_key.pk).update(created_by=creator)
    return api_key, raw


def test_off_unless_enabled(client, key_server):
    response = post(client, payload("x"), key=key_server.keys["kid-1"])
    assert response.status_code == 404


def test_a_real_leaked_key_is_revoked_audited_signalled_and_emailed(client, scanning, leaked):
    api_key, raw = leaked
    received = []
    signals.api_key_leaked.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        body = payload(raw)
        response = post(client, body, key=scanning.keys["kid-1"])
    finally:
        signals.api_key_leaked.disconnect(dispatch_uid="t")
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"token_hash": keys.hash_key(raw), "token_type": "acme_api_key", "label": "true_positive"}
    ]
    assert raw not in response.content.decode()
    api_key.refresh_from_db()
    assert not api_key.is_active and api_key.revoked_at and api_key.leaked_at
    event = AuditEvent.objects.get(action=AuditEvent.Action.KEY_LEAKED)
    assert event.details["url"] == "https://github.com/acme/app/blob/main/.env"
    assert event.details["source"] == "content" and event.details["revoked"] is True
    assert AuditEvent.objects.filter(action=AuditEvent.Action.KEY_REVOKED).count() == 1
    assert [r["api_key"].pk for r in received] == [api_key.pk]
    assert received[0]["revoked"] is True and received[0]["reporter"] == "github"
    assert sorted(m.to[0] for m in mail.outbox) == ["creator@example.com", "owner@example.com"]
    assert api_key.hint in mail.outbox[0].body and "revoked" in mail.outbox[0].body
    assert all(raw not in m.body and raw not in m.subject for m in mail.outbox)
    assert raw not in dump_database()
    # The key no longer authenticates.
    denied = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert denied.status_code == 401


def test_flag_only_keeps_the_key_working(client, scanning, settings, leaked):
    settings.APIKEYS = {**settings.APIKEYS, "SECRET_SCANNING_ACTION": "flag"}
    api_key, raw = leaked
    response = post(client, payload(raw), key=scanning.keys["kid-1"])
    assert response.json()[0]["label"] == "true_positive"
    api_key.refresh_from_db()
    assert api_key.is_active and api_key.leaked_at is not None
    assert AuditEvent.objects.get(action="key.leaked").details["revoked"] is False
    assert "NOT been revoked" in mail.outbox[0].body


def test_a_replay_changes_nothing_more(client, scanning, leaked):
    api_key, raw = leaked
    body = payload(raw)
    signature = sign(scanning.keys["kid-1"], body)
    first = post(client, body, signature=signature)
    api_key.refresh_from_db()
    leaked_at, sent = api_key.leaked_at, len(mail.outbox)
    events = AuditEvent.objects.count()
    second = post(client, body, signature=signature)
    assert first.json() == second.json()
    api_key.refresh_from_db()
    assert api_key.leaked_at == leaked_at
    assert AuditEvent.objects.count() == events and len(mail.outbox) == sent


def test_false_positive_well_formed_but_unknown(client, scanning):
    raw = keys.generate("sk")
    response = post(client, payload(raw), key=scanning.keys["kid-1"])
    assert response.json() == [
        {"token_hash": keys.hash_key(raw), "token_type": "acme_api_key", "label": "false_positive"}
    ]
    assert not mail.outbox


def test_malformed_tokens_cost_no_query(client, scanning):
    good = keys.generate("sk")
    bad = [
        good[:-1] + ("0" if good[-1] != "0" else "1"),
        "ghp_notours",
        "sk_short_00000000",
        "",
        "\ud800" + good[1:],  # a lone surrogate, as JSON allows
        "x" * 100_000,
    ]
    body = payload(*bad)
    signature = sign(scanning.keys["kid-1"], body)
    post(client, body, signature=signature)  # warm: the public keys are cached now
    with CaptureQueriesContext(connection) as queries:
        response = post(client, body, signature=signature)
    assert response.status_code == 200
    assert [item["label"] for item in response.json()] == ["false_positive"] * 6
    assert len(queries) == 0, [q["sql"] for q in queries]


@pytest.mark.parametrize(
    "tamper",
    ["bad_signature", "other_key", "changed_body", "missing_signature", "not_base64"],
)
def test_bad_signatures_are_refused_before_any_lookup(client, scanning, leaked, tamper):
    api_key, raw = leaked
    body = payload(raw)
    stranger = ec.generate_private_key(ec.SECP256R1())
    signature = {
        "bad_signature": base64.b64encode(b"0" * 70).decode(),
        "other_key": sign(stranger, body),
        "changed_body": sign(scanning.keys["kid-1"], payload("sk_x")),
        "missing_signature": None,
        "not_base64": "***",
    }[tamper]
    with CaptureQueriesContext(connection) as queries:
        response = post(client, body, signature=signature)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert len(queries) == 0
    api_key.refresh_from_db()
    assert api_key.is_active and api_key.leaked_at is None


def test_unknown_key_id_refetches_once_then_refuses(client, scanning, leaked):
    api_key, raw = leaked
    body = payload(raw)
    assert post(client, body, key=scanning.keys["kid-1"]).status_code == 200
    assert scanning.hits == 1
    stranger = ec.generate_private_key(ec.SECP256R1())
    for _ in range(3):
        response = post(client, body, kid="kid-unknown", signature=sign(stranger, body))
        assert response.status_code == 401 and response.json()["code"] == "invalid_signature"
    assert scanning.hits == 2  # one refetch, not one per request


def test_a_rotated_key_is_fetched_when_first_seen(client, scanning, leaked):
    api_key, raw = leaked
    assert post(client, payload(), key=scanning.keys["kid-1"]).status_code == 200
    new_key = scanning.add_key("kid-2")
    response = post(client, payload(raw), kid="kid-2", key=new_key)
    assert response.status_code == 200 and response.json()[0]["label"] == "true_positive"
    assert scanning.hits == 2


def test_keys_unreachable_is_503(client, settings, scanning):
    scanning.stop()
    body = payload("x")
    response = post(client, body, key=scanning.keys["kid-1"])
    assert response.status_code == 503
    assert response.json()["code"] == "public_keys_unavailable"


def test_keys_server_error_is_503(client, scanning):
    scanning.status = 500
    response = post(client, payload("x"), key=scanning.keys["kid-1"])
    assert response.status_code == 503


@pytest.fixture
def _forget_failed_fetches():
    from django_apikeys.scanning import github

    failed = getattr(github, "_failed_until", {})
    failed.clear()
    yield
    failed.clear()


@pytest.mark.usefixtures("_forget_failed_fetches")
@pytest.mark.parametrize("fault", ["error", "hang"])
def test_a_failing_key_document_is_fetched_once_per_interval(client, scanning, settings, fault):
    """20 reports while the key document fails or hangs: one outbound fetch,
    20 clean 503s, and only the first waits out the timeout."""
    settings.APIKEYS = {**settings.APIKEYS, "SECRET_SCANNING_FETCH_TIMEOUT": 1}
    if fault == "error":
        scanning.status = 500
    else:
        scanning.delay = 3.0  # longer than the timeout
    stranger = ec.generate_private_key(ec.SECP256R1())
    body = payload("x")
    started = time.monotonic()
    codes = [post(client, body, signature=sign(stranger, body)).json()["code"] for _ in range(20)]
    elapsed = time.monotonic() - started
    assert codes == ["public_keys_unavailable"] * 20
    assert scanning.hits == 1
    assert elapsed < 2.5, elapsed  # one timeout (1 s), not twenty


@pytest.mark.usefixtures("_forget_failed_fetches")
def test_a_failed_fetch_is_remembered_even_without_the_cache(client, scanning, settings):
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1",
        },
    }
    settings.APIKEYS = {**settings.APIKEYS, "CACHE_ALIAS": "down"}
    scanning.status = 500
    body = payload("x")
    for _ in range(5):
        assert post(client, body, key=scanning.keys["kid-1"]).status_code == 503
    assert scanning.hits == 1


def test_a_deeply_nested_signed_report_is_400(client, scanning):
    body = b"[" * 100_000 + b"]" * 100_000
    response = post(client, body, key=scanning.keys["kid-1"])
    assert (response.status_code, response.json()["code"]) == (400, "invalid_payload")


def test_empty_list(client, scanning):
    with CaptureQueriesContext(connection) as queries:
        response = post(client, b"[]", key=scanning.keys["kid-1"])
    assert response.status_code == 200 and response.json() == []
    assert len(queries) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{}",
        b'[{"type": "x"}]',
        b'[{"token": 5}]',
        b'["sk"]',
        b'[{"token": "a", "url": 5}]',
    ],
)
def test_signed_nonsense_is_400(client, scanning, body):
    response = post(client, body, key=scanning.keys["kid-1"])
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"


def test_get_is_not_allowed(client, scanning):
    assert client.get(URL).status_code == 405


def test_unknown_scanner_is_404(client, scanning):
    response = client.post(
        "/apikeys/secret-scanning/gitlab/", b"[]", content_type="application/json"
    )
    assert response.status_code == 404
    assert reverse("django_apikeys:secret_scanning", args=["github"]) == URL


def test_a_batch_of_1000_tokens_in_bounded_queries(client, scanning):
    org = OrganizationFactory()
    MembershipFactory(organization=org, user=UserFactory(email="o@example.com"))
    live = [make_key(org, name=f"k{i}")[1] for i in range(200)]
    tokens = (
        live
        + [keys.generate("sk") for _ in range(600)]  # well-formed, not ours
        + [f"sk_notakey_{i}" for i in range(200)]  # malformed
    )
    body = payload(*tokens)
    key = scanning.keys["kid-1"]
    post(client, b"[]", key=key)  # the public keys are cached, as in steady state
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = post(client, body, key=key)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    labels = [item["label"] for item in response.json()]
    assert labels == ["true_positive"] * 200 + ["false_positive"] * 800
    assert APIKey.objects.filter(organization=org, is_active=True).count() == 0
    lookups = [q for q in queries if '"hashed_key" IN' in q["sql"]]
    assert len(lookups) == 1
    statements = [q for q in queries if "SAVEPOINT" not in q["sql"]]
    inserts = [q for q in statements if q["sql"].startswith("INSERT")]
    # Two lookups, two updates, the Owners query; the two bulk audit inserts
    # take as many batches as the backend's parameter limit needs (1 on
    # PostgreSQL and recent SQLite, more on old SQLite limits).
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    batch = connection.ops.bulk_batch_size(fields, list(range(200))) or 200
    assert len(statements) - len(inserts) == 5, [q["sql"][:80] for q in statements]
    assert len(inserts) <= 2 * -(-200 // batch)
    assert elapsed < 10  # GitHub's timeout is 30 s; this is typically well under 1 s
    print(
        f"\n1000-token batch: {len(statements)} statements ({len(queries)} with savepoints), "
        f"{elapsed * 1000:.0f} ms"
    )


def test_a_body_over_the_upload_limit_is_413(client, scanning, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = payload(*[keys.generate("sk") for _ in range(20)])
    response = post(client, body, key=scanning.keys["kid-1"])
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
