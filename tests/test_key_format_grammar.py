"""keys.verify_format without ``prefixes``: the prefix grammar, and what a
client pastes by mistake; with ``prefixes``: any one-character slip fails."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given, settings
from hypothesis import strategies as st

from django_apikeys import keys
from django_apikeys.conf import apikeys_settings

SEPARATORS = ["_", "-"]
_group = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
#: Prefixes of the documented grammar: groups of [a-z0-9] joined by "_" or "-".
prefixes = st.builds(
    lambda first, rest: first + "".join(j + g for j, g in rest),
    _group,
    st.lists(st.tuples(st.sampled_from(SEPARATORS), _group), max_size=3),
).filter(lambda p: len(p) <= keys.MAX_PREFIX_LENGTH)
bodies = st.text(alphabet=keys.ALPHABET, min_size=keys.BODY_LENGTH, max_size=keys.BODY_LENGTH)


def _key(prefix: str = "sk", sep: str = "_", body: str = "A1b2" * 8) -> str:
    return f"{prefix}{sep}{body}{sep}{keys.checksum(body)}"


@pytest.mark.parametrize("prefix", ["sk", "clm_sk", "sk-live", "sk_live_2", "a1", "x" * 32])
def test_the_grammar_accepts(prefix):
    assert keys.valid_prefix(prefix)
    assert keys.verify_format(_key(prefix))


@pytest.mark.parametrize(
    "prefix",
    ["", "SK", "Sk", "sk_", "_sk", "sk__live", "sk-_live", "sk.live", "sk live", "é", "x" * 33],
)
def test_the_grammar_refuses(prefix):
    assert not keys.valid_prefix(prefix)
    assert not keys.verify_format(_key(prefix))


@pytest.mark.parametrize(
    "mistake",
    [
        lambda raw: " " + raw,
        lambda raw: raw + " ",
        lambda raw: "\t" + raw,
        lambda raw: "Bearer " + raw,
        lambda raw: "bearer " + raw,
        lambda raw: "Bearer" + raw,
        lambda raw: raw.upper(),
        lambda raw: "SK" + raw[2:],
        lambda raw: raw + raw,
        lambda raw: raw + "\n" + raw,
        lambda raw: raw + " " + raw,
    ],
    ids=[
        "leading space",
        "trailing space",
        "leading tab",
        "Bearer scheme",
        "bearer scheme",
        "Bearer without space",
        "all upper case",
        "upper-case prefix",
        "two keys pasted",
        "two keys on two lines",
        "two keys with a space",
    ],
)
def test_what_a_client_pastes_by_mistake_fails(mistake):
    raw = _key("sk", "_", "a1b2" * 8)  # an all-lower-case body: the hardest case
    assert keys.verify_format(raw)
    assert not keys.verify_format(mistake(raw))


def test_two_pasted_keys_fail_with_a_short_body_too():
    body = "abcd1234"
    raw = f"sk_{body}_{keys.checksum(body)}"
    assert keys.verify_format(raw, body_length=8)
    assert not keys.verify_format(raw + raw, body_length=8)


def test_a_configured_prefix_outside_the_grammar_is_refused(settings):
    settings.APIKEYS = {"KEY_TYPES": {"server": {"prefix": "SK"}}}
    with pytest.raises(ImproperlyConfigured, match="lower-case"):
        apikeys_settings.key_types  # noqa: B018


@settings(max_examples=300, deadline=None)
@given(prefix=prefixes, sep=st.sampled_from(SEPARATORS))
def test_generated_keys_always_pass(prefix, sep):
    raw = keys.generate(prefix, sep)
    assert keys.verify_format(raw, separator=sep)
    assert keys.verify_format(raw, prefixes=[prefix], separator=sep)


def _mutations(raw: str, data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["change", "insert", "delete"]))
    if kind == "delete":
        index = data.draw(st.integers(0, len(raw) - 1))
        return raw[:index] + raw[index + 1 :]
    if kind == "insert":
        index = data.draw(st.integers(0, len(raw)))
        return raw[:index] + data.draw(st.characters()) + raw[index:]
    index = data.draw(st.integers(0, len(raw) - 1))
    return raw[:index] + data.draw(st.characters(exclude_characters=raw[index])) + raw[index + 1 :]


@settings(max_examples=1500, deadline=None)
@given(prefix=prefixes, sep=st.sampled_from(SEPARATORS), body=bodies, data=st.data())
def test_any_single_character_change_insertion_or_deletion_fails(prefix, sep, body, data):
    raw = _key(prefix, sep, body)
    assert keys.verify_format(raw, prefixes=[prefix], separator=sep)
    mutated = _mutations(raw, data)
    assert not keys.verify_format(mutated, prefixes=[prefix], separator=sep)


def test_the_system_check_reports_a_prefix_outside_the_grammar(settings):
    from django_apikeys.checks import check_settings

    settings.APIKEYS = {"KEY_TYPES": {"server": {"prefix": "Sk_Live"}}}
    errors = check_settings()
    assert [e.id for e in errors] == ["django_apikeys.E001"]
    assert "lower-case" in errors[0].msg
