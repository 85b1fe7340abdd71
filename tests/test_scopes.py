"""The scope grammar shared by keys, roles and (later) OAuth tokens."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from django_apikeys.scopes import grants, missing, normalize_scope, normalize_scopes, outside


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("clients:read", "clients:read"),
        ("read:clients", "clients:read"),
        ("write:invoices", "invoices:write"),
        ("Clients:Read", "clients:read"),
        (" time-entries:write ", "time-entries:write"),
        ("write:time-entries", "time-entries:write"),
        ("fraud:report", "fraud:report"),
        ("assess", "assess"),
        ("*", "*"),
        ("clients:*", "clients:*"),
        ("read:write", "read:write"),  # both words are actions: left as written
    ],
)
def test_normalize(written, normal):
    assert normalize_scope(written) == normal


@pytest.mark.parametrize(
    "bad", ["", ":", "clients:", ":read", "a:b:c", "*:read", "clients read", "é:read", "x" * 0, 5]
)
def test_invalid_scopes(bad):
    with pytest.raises(ValidationError) as exc:
        normalize_scope(bad)
    assert exc.value.code == "invalid_scope"


def test_normalize_scopes_dedupes_sorts_and_splits():
    assert normalize_scopes("read:clients, clients:read invoices:write") == [
        "clients:read",
        "invoices:write",
    ]
    assert normalize_scopes(None) == []


def test_custom_actions(settings):
    settings.APIKEYS = {"SCOPE_ACTIONS": ["read", "report"]}
    assert normalize_scope("report:fraud") == "fraud:report"


@pytest.mark.parametrize(
    ("granted", "required", "expected"),
    [
        (["*"], "clients:read", True),
        (["clients:*"], "clients:write", True),
        (["clients:*"], "invoices:read", False),
        (["clients:read"], "clients:read", True),
        (["clients:read"], "clients:write", False),
        (["assess"], "assess", True),
        (["clients:*"], "assess", False),
        ([], "clients:read", False),
    ],
)
def test_grants(granted, required, expected):
    assert grants(granted, required) is expected


def test_missing_lists_what_is_not_covered():
    assert missing(["clients:*"], ["clients:read", "invoices:read"]) == ["invoices:read"]


@pytest.mark.parametrize(
    ("requested", "allowed", "beyond"),
    [
        (["clients:read"], ["*"], []),
        (["*"], ["*"], []),
        (["*"], ["clients:*"], ["*"]),
        (["clients:*"], ["clients:read", "clients:write"], ["clients:*"]),
        (["clients:*"], ["clients:*"], []),
        (["clients:read", "assess"], ["assess"], ["clients:read"]),
    ],
)
def test_outside(requested, allowed, beyond):
    assert outside(requested, allowed) == beyond
