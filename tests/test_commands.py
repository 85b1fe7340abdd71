"""Management commands: createapikey prints the key once; revokeapikey."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_apikeys import keys
from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, OrganizationFactory, make_key

pytestmark = pytest.mark.django_db


def run(*args, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    kwargs = {"stdout": out, "stderr": err}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command(*args, **kwargs)
    return out.getvalue(), err.getvalue()


def test_createapikey_prints_only_the_key_on_stdout():
    org = OrganizationFactory(slug="acme")
    out, err = run("createapikey", "acme", "server", "CI", "--scope", "read:clients")
    raw = out.strip()
    assert keys.verify_format(raw, prefixes=["sk"])
    api_key = APIKey.objects.get()
    assert api_key.hashed_key == keys.hash_key(raw)
    assert api_key.organization == org and api_key.scopes == ["clients:read"]
    assert raw not in err and api_key.hint in err


def test_createapikey_by_uuid_with_user_and_expiry():
    membership = MembershipFactory()
    out, _ = run(
        "createapikey",
        str(membership.organization.pk),
        "user",
        "mine",
        "--user",
        membership.user.username,
        "--expires-in-days",
        "7",
        "--scope",
        "*",
    )
    api_key = APIKey.objects.get()
    assert api_key.user == membership.user and api_key.expires_at is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "server", "x"], "No organization 'nope': name it by its slug or id. "),
        (["Acme", "server", "x"], "name it by its slug or id, e.g. 'acme'"),
        (["acme", "bogus", "x"], "Unknown key type .* Key types: server, user, publishable."),
        (["acme", "user", "x"], "needs an owner. Pass --user USERNAME, a member of 'acme'."),
        (["acme", "server", "x"], "Name the scopes .* Pass --scope .* --scope clients:read"),
        (["acme", "user", "x", "--user", "ghost"], "No user"),
        (["acme", "server", "x", "--scope", "bad scope"], "not a valid scope"),
        (["acme", "server", "x", "--expires-in-days", "0"], "positive"),
    ],
)
def test_createapikey_errors(args, message):
    OrganizationFactory(slug="acme")
    with pytest.raises(CommandError, match=message):
        run("createapikey", *args)
    assert not APIKey.objects.exists()


def test_createapikey_lists_the_organizations_there_are():
    OrganizationFactory(slug="acme")
    OrganizationFactory(slug="globex")
    with pytest.raises(CommandError, match="Organizations: acme, globex."):
        run("createapikey", "initech", "server", "x", "--scope", "*")


def test_createapikey_with_no_organization_at_all_says_to_create_one():
    with pytest.raises(CommandError, match="there is none yet: create one"):
        run("createapikey", "acme", "server", "x", "--scope", "*")


def test_createapikey_secure_default_names_scopes_and_expires():
    """No implicit ``*`` (the command refuses without --scope), an expiry of
    DEFAULT_KEY_EXPIRY_DAYS unless --no-expiry asks otherwise."""
    OrganizationFactory(slug="acme")
    with pytest.raises(CommandError, match="--scope"):
        run("createapikey", "acme", "server", "CI deploys")
    assert not APIKey.objects.exists()
    run("createapikey", "acme", "server", "CI deploys", "--scope", "clients:read")
    api_key = APIKey.objects.get()
    assert api_key.scopes == ["clients:read"]
    days = (api_key.expires_at - timezone.now()).total_seconds() / 86400
    assert 89.9 < days <= 90
    run("createapikey", "acme", "server", "Forever", "--scope", "*", "--no-expiry")
    assert APIKey.objects.get(name="Forever").expires_at is None
    with pytest.raises(CommandError):
        run(
            "createapikey",
            "acme",
            "server",
            "x",
            "--scope",
            "*",
            "--no-expiry",
            "--expires-in-days",
            "3",
        )


def test_revokeapikey_by_id_and_twice():
    api_key, _ = make_key()
    out, _ = run("revokeapikey", str(api_key.pk))
    assert "Revoked" in out
    out, _ = run("revokeapikey", str(api_key.pk))
    assert "already revoked" in out
    api_key.refresh_from_db()
    assert api_key.is_revoked


def test_revokeapikey_by_raw_key_on_stdin():
    api_key, raw = make_key()
    out, _ = run("revokeapikey", "-", stdin=raw + "\n")
    assert "Revoked" in out and raw not in out
    api_key.refresh_from_db()
    assert api_key.is_revoked


@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_revokeapikey_errors(value):
    with pytest.raises(CommandError):
        run("revokeapikey", value)
