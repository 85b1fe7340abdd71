"""The secret-scanning receiver on the live harness: two gunicorn servers,
PostgreSQL, Redis; GitHub's public keys served over HTTP on 127.0.0.1.

A leaked key reported to one server is refused by the other at once (the
lookup cache is on: revocation must reach every process through Redis); a
replay to the other server changes nothing; a 1,000-token batch is answered
well inside GitHub's timeout (figures printed with ``pytest -s``)."""

from __future__ import annotations

import time

import pytest

from django_apikeys import keys
from tests.scanning_keys import KeyServer, payload, sign

from .conftest import Live

pytestmark = pytest.mark.live

URL = "/apikeys/secret-scanning/github/"
ME = "/api/v1/me"


@pytest.fixture(scope="module")
def key_server(live: Live):
    # One key pair for the module: the servers cache the published keys by id.
    server = KeyServer(port=int(live.env["APIKEYS_LIVE_SCANNING_PORT"]))
    server.add_key("live-kid")
    yield server
    server.stop()


def _report(live: Live, server: int, body: bytes, key_server: KeyServer):
    return live.request(
        server,
        URL,
        data=body,
        headers={
            "Content-Type": "application/json",
            "Github-Public-Key-Identifier": "live-kid",
            "Github-Public-Key-Signature": sign(key_server.keys["live-kid"], body),
        },
    )


def test_a_leak_reported_to_one_server_is_refused_by_the_other(live: Live, key_server) -> None:
    key = live.helper("make-key")
    for server in (0, 1):  # both servers have the key in the lookup cache
        assert live.request(server, ME, raw_key=key["raw"]).status == 200
    body = payload(key["raw"])
    response = _report(live, 0, body, key_server)
    assert response.status == 200, response.body[:500]
    assert response.json() == [
        {
            "token_hash": keys.hash_key(key["raw"]),
            "token_type": "acme_api_key",
            "label": "true_positive",
        }
    ]
    assert key["raw"].encode() not in response.body
    for server in (1, 0):
        refused = live.request(server, ME, raw_key=key["raw"])
        assert refused.status == 401 and refused.json()["code"] == "key_revoked"
    assert live.helper("status", key["id"]) == {"status": "revoked"}
    replay = _report(live, 1, body, key_server)
    assert replay.status == 200 and replay.json() == response.json()


def test_a_forged_report_changes_nothing(live: Live, key_server) -> None:
    key = live.helper("make-key")
    body = payload(key["raw"])
    forged = live.request(
        1,
        URL,
        data=body,
        headers={
            "Content-Type": "application/json",
            "Github-Public-Key-Identifier": "live-kid",
            "Github-Public-Key-Signature": sign(key_server.keys["live-kid"], body + b" "),
        },
    )
    assert forged.status == 401 and forged.json()["code"] == "invalid_signature"
    assert live.request(0, ME, raw_key=key["raw"]).status == 200


def test_a_1000_token_batch_is_answered_quickly(live: Live, key_server) -> None:
    real = [live.helper("make-key")["raw"] for _ in range(3)]
    tokens = real + [keys.generate("sk") for _ in range(797)] + ["ghp_" + "x" * 36] * 200
    body = payload(*tokens)
    _report(live, 0, payload(), key_server)  # public keys fetched and cached, as in steady state
    started = time.monotonic()
    response = _report(live, 1, body, key_server)
    elapsed = time.monotonic() - started
    assert response.status == 200
    labels = [item["label"] for item in response.json()]
    assert labels == ["true_positive"] * 3 + ["false_positive"] * 997
    print(f"\n[live] 1000-token report, gunicorn + PostgreSQL: {elapsed * 1000:.0f} ms")
    assert elapsed < 10  # GitHub waits 30 s
