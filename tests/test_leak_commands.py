"""Commands for when a key leaks: rollapikey, apikeypatterns, sendexpiryreminders."""

from __future__ import annotations

import datetime
import json
import re

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError
from django.utils import timezone

from django_apikeys import keys, signals
from django_apikeys.conf import apikeys_settings
from django_apikeys.management.commands.apikeypatterns import patterns
from django_apikeys.models import APIKey, AuditEvent, ExpiryReminder
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key, role
from tests.mail import use_locmem, use_smtp
from tests.test_commands import run

pytestmark = pytest.mark.django_db


# --- rollapikey ------------------------------------------------------------------


def test_rollapikey_prints_the_new_key_once_and_keeps_the_old_for_the_grace_period():
    api_key, old_raw = make_key(scopes=["clients:read"], allowed_ips=["203.0.113.0/24"])
    out, err = run("rollapikey", str(api_key.pk))
    raw = out.strip()
    new = APIKey.objects.get(hashed_key=keys.hash_key(raw))
    assert new.replaces_id == api_key.pk and new.scopes == ["clients:read"]
    assert new.allowed_ips == ["203.0.113.0/24"]
    api_key.refresh_from_db()
    assert api_key.is_active and api_key.expires_at is not None
    grace = api_key.expires_at - timezone.now()
    assert datetime.timedelta(hours=23) < grace <= datetime.timedelta(hours=24)
    assert raw not in err and new.hint in err and old_raw not in out + err
    assert "keeps working until" in err


def test_rollapikey_now_revokes_the_old_key_and_audits_compromise():
    api_key, _ = make_key()
    out, err = run("rollapikey", str(api_key.pk), "--now")
    api_key.refresh_from_db()
    assert api_key.is_revoked and "revoked" in err
    event = AuditEvent.objects.get(action=AuditEvent.Action.KEY_ROLLED)
    assert event.details["compromised"] is True and event.details["grace_seconds"] == 0


def test_rollapikey_by_raw_key_on_stdin_with_a_grace():
    api_key, raw = make_key()
    run("rollapikey", "-", "--grace", "60", stdin=raw + "\n")
    api_key.refresh_from_db()
    assert api_key.expires_at - timezone.now() <= datetime.timedelta(seconds=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-a-uuid"], "UUID"),
        (["00000000-0000-0000-0000-000000000000"], "No such API key"),
        (["{pk}", "--grace", "-1"], "negative"),
    ],
)
def test_rollapikey_errors(args, message):
    api_key, _ = make_key()
    with pytest.raises(CommandError, match=message):
        run("rollapikey", *[a.format(pk=api_key.pk) for a in args])


def test_rollapikey_refuses_a_revoked_or_rolled_key():
    api_key, _ = make_key()
    run("rollapikey", str(api_key.pk))
    with pytest.raises(CommandError, match="already been rolled"):
        run("rollapikey", str(api_key.pk))
    revoked, _ = make_key()
    run("revokeapikey", str(revoked.pk))
    with pytest.raises(CommandError, match="active key"):
        run("rollapikey", str(revoked.pk))


# --- apikeypatterns ----------------------------------------------------------------

PROFILES = [
    {},  # the defaults: sk / uk / pk
    {
        "SEPARATOR": "-",
        "KEY_TYPES": {
            "live": {"prefix": "sk-live"},
            "test": {"prefix": "sk-test"},
            "short": {"prefix": "sk"},
            "bare": {"prefix": "live"},
        },
    },
    {
        "KEY_TYPES": {
            "server": {"prefix": "clm_sk"},
            "user": {"prefix": "clm_uk", "owner": "user"},
            "pub": {"prefix": "sk"},
        }
    },
]


@pytest.mark.parametrize("conf", PROFILES)
def test_every_generated_key_matches_its_pattern_and_no_other(settings, conf):
    settings.APIKEYS = conf
    entries = patterns()
    assert [e["key_type"] for e in entries] == list(apikeys_settings.key_types)
    for kt in apikeys_settings.key_types.values():
        for _ in range(50):
            raw = keys.generate(kt.prefix, apikeys_settings.SEPARATOR)
            text = f"config:\n  token = '{raw}'\nexport KEY={raw}\n"
            for entry in entries:
                mine = entry["key_type"] == kt.name
                found = re.findall(entry["regex"], text)
                assert found == ([raw, raw] if mine else []), (entry, raw)
                re2 = [m for m in re.findall(entry["regex_re2"], text)]
                assert re2 == ([raw, raw] if mine else []), (entry, raw)
                assert bool(re.fullmatch(entry["secret"], raw)) is mine


def test_patterns_do_not_match_inside_longer_words_or_bad_keys():
    entry = next(e for e in patterns() if e["key_type"] == "server")
    raw = keys.generate("sk")
    for text in (f"x{raw}", f"{raw}0", f"{raw}_", f"_{raw}", raw.upper()):
        assert not re.search(entry["regex"], text), text
    assert re.fullmatch(entry["regex"], entry["sample"])
    assert keys.verify_format(entry["sample"], ["sk"])


def test_apikeypatterns_text_and_json():
    out, _ = run("apikeypatterns")
    assert "server (Server, prefix sk)" in out and "regex:" in out and "sample:" in out
    out, _ = run("apikeypatterns", "--json")
    data = json.loads(out)
    assert {e["key_type"] for e in data} == {"server", "user", "publishable"}
    assert {"regex", "regex_re2", "secret", "before", "after", "sample", "prefix"} <= set(data[0])


# --- sendexpiryreminders ---------------------------------------------------------


@pytest.fixture
def team():
    org = OrganizationFactory()
    owner = MembershipFactory(organization=org, user=UserFactory(email="owner@example.com"))
    editor = MembershipFactory(
        organization=org, user=UserFactory(email="editor@example.com"), role=role("Editor")
    )
    return org, owner.user, editor.user


START = datetime.datetime(2030, 1, 1, 12, tzinfo=datetime.timezone.utc)


def test_reminders_at_7_and_1_day_once_each(team, django_capture_on_commit_callbacks):
    org, owner, editor = team
    received = []
    signals.api_key_expiring.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t"
    )
    try:
        with time_machine.travel(START, tick=False) as traveller:
            api_key, raw = make_key(
                org, created_by=editor, scopes=[], expires_at=START + datetime.timedelta(days=10)
            )
            make_key(org, name="far", expires_at=START + datetime.timedelta(days=60))
            make_key(org, name="never")

            def hourly():
                with django_capture_on_commit_callbacks(execute=True):
                    return run("sendexpiryreminders")[0]

            assert "Sent 0" in hourly()
            traveller.move_to(START + datetime.timedelta(days=3, hours=1))  # 6d23h left
            assert "Sent 1" in hourly()
            assert sorted(m.to[0] for m in mail.outbox) == [
                "editor@example.com",
                "owner@example.com",
            ]
            assert "7 days" in mail.outbox[0].subject and api_key.hint in mail.outbox[0].body
            for hours in (1, 2, 24):  # the same threshold is not sent again
                traveller.move_to(START + datetime.timedelta(days=3, hours=1 + hours))
                assert "Sent 0" in hourly()
            traveller.move_to(START + datetime.timedelta(days=9, hours=1))  # 23h left
            assert "Sent 1" in hourly()
            assert "Sent 0" in hourly()
            assert len(mail.outbox) == 4 and "1 day" in mail.outbox[-1].subject
            traveller.move_to(START + datetime.timedelta(days=11))  # expired: nothing
            assert "Sent 0" in hourly()
    finally:
        signals.api_key_expiring.disconnect(dispatch_uid="t")
    assert [(r["api_key"].pk, r["days"]) for r in received] == [(api_key.pk, 7), (api_key.pk, 1)]
    assert ExpiryReminder.objects.filter(api_key=api_key).count() == 2
    assert AuditEvent.objects.filter(action="key.expiry_reminded").count() == 2
    assert all(raw not in m.body for m in mail.outbox)


def test_a_user_key_reminds_its_owner_not_the_owners(team):
    org, owner, editor = team
    with time_machine.travel(START, tick=False):
        make_key(
            org,
            "user",
            user=editor,
            created_by=editor,
            scopes=[],
            expires_at=START + datetime.timedelta(hours=20),
        )
        out, _ = run("sendexpiryreminders")
    assert "Sent 1" in out
    assert [m.to for m in mail.outbox] == [["editor@example.com"]]


def test_a_key_with_a_short_life_gets_the_most_urgent_reminder_only(team):
    org, owner, _ = team
    with time_machine.travel(START, tick=False):
        make_key(org, created_by=owner, expires_at=START + datetime.timedelta(hours=5))
        assert "Sent 1" in run("sendexpiryreminders")[0]
        assert "Sent 0" in run("sendexpiryreminders")[0]
    assert ExpiryReminder.objects.get().days == 1


def test_revoked_keys_get_no_reminder(team):
    org, owner, _ = team
    with time_machine.travel(START, tick=False):
        api_key, _ = make_key(org, created_by=owner, expires_at=START + datetime.timedelta(days=2))
        run("revokeapikey", str(api_key.pk))
        assert "Sent 0" in run("sendexpiryreminders")[0]


def test_a_mail_failure_is_retried_next_run(team, settings):
    org, owner, _ = team
    use_smtp(settings, 9, 2)
    with time_machine.travel(START, tick=False):
        make_key(org, created_by=owner, expires_at=START + datetime.timedelta(days=2))
        assert "Sent 0" in run("sendexpiryreminders")[0]  # nothing listens on port 9
        assert not ExpiryReminder.objects.exists()
        use_locmem(settings)
        assert "Sent 1" in run("sendexpiryreminders")[0]
    assert len(mail.outbox) == 1


def test_dry_run_and_bad_settings(team, settings):
    org, owner, _ = team
    with time_machine.travel(START, tick=False):
        make_key(org, created_by=owner, expires_at=START + datetime.timedelta(days=2))
        out, _ = run("sendexpiryreminders", "--dry-run")
        assert "7-day reminder" in out and not mail.outbox
        settings.APIKEYS = {"EXPIRY_REMINDER_DAYS": [7, "1"]}
        with pytest.raises(CommandError, match="positive integers"):
            run("sendexpiryreminders")
