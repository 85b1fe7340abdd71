"""Key format: generation, parsing, checksum, hashing (keys.py is pure)."""

from __future__ import annotations

import ast
import hashlib
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_apikeys import keys

PREFIXES = ["sk", "uk", "pk", "csb", "clm_sk", "clm_pub", "sk_live", "sk-live", "sk-test"]
SEPARATORS = ["_", "-"]


def test_seed_000_example_format():
    body = "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEf"
    key = f"csb_{body}_{format(zlib.crc32(body.encode()) & 0xFFFFFFFF, '08x')}"
    assert keys.verify_format(key)
    assert keys.verify_format(key, prefixes=["csb", "csu", "cpk"])
    assert not keys.verify_format(key, prefixes=["csu"])
    # The checksum printed in the seed's example is illustrative, not real.
    assert not keys.verify_format(f"csb_{body}_1a2b3c4d")


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("sep", SEPARATORS)
def test_generate_parse_round_trip(prefix, sep):
    raw = keys.generate(prefix, sep)
    parsed = keys.parse(raw, {prefix: "mytype"}, sep)
    assert parsed is not None
    assert parsed.key_type == "mytype"
    assert parsed.prefix == prefix
    assert len(parsed.body) == keys.BODY_LENGTH
    assert parsed.checksum == keys.checksum(parsed.body)
    assert keys.verify_format(raw, separator=sep)


def test_longest_prefix_wins():
    raw = keys.generate("sk_live", "_")
    parsed = keys.parse(raw, {"sk": "short", "sk_live": "long"}, "_")
    assert parsed is not None and parsed.key_type == "long"
    raw = keys.generate("sk", "_")
    parsed = keys.parse(raw, {"sk": "short", "sk_live": "long"}, "_")
    assert parsed is not None and parsed.key_type == "short"


def test_unknown_prefix_and_wrong_separator_rejected():
    raw = keys.generate("sk", "_")
    assert keys.parse(raw, {"pk": "p"}, "_") is None
    assert keys.parse(raw, {"sk": "s"}, "-") is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sk_",
        "sk__",
        "sk_" + "A" * 32,
        "sk_" + "A" * 31 + "_" + keys.checksum("A" * 31),
        "sk_" + "A" * 33 + "_" + keys.checksum("A" * 33),
        "sk_" + "A" * 31 + "é_" + keys.checksum("A" * 31 + "é"),
        "sk_" + "A" * 32 + "_" + keys.checksum("A" * 32).upper(),
        "sk_" + "A" * 32 + "_" + keys.checksum("A" * 32) + "0",
        "sk_" + "A" * 32 + "_" + keys.checksum("A" * 32) + "\x00",
        "sk_" + "A" * 10_000,
    ],
)
def test_malformed_keys_rejected(value):
    assert keys.parse(value, {"sk": "s"}, "_") is None
    assert not keys.verify_format(value, prefixes=["sk"])


def test_non_string_is_rejected():
    assert keys.parse(None, {"sk": "s"}) is None  # type: ignore[arg-type]
    assert not keys.verify_format(b"sk_abc")  # type: ignore[arg-type]


def test_hash_is_sha256_hex():
    raw = keys.generate("sk")
    assert keys.hash_key(raw) == hashlib.sha256(raw.encode()).hexdigest()
    assert len(keys.hash_key(raw)) == 64


def test_display_hint_reveals_little():
    raw = keys.generate("clm_sk", "_")
    hint = keys.display_hint(raw, "_")
    body = raw[len("clm_sk_") : len("clm_sk_") + 32]
    assert hint == f"clm_sk_{body[:4]}…{raw[-4:]}"
    assert body not in hint


def test_generated_keys_are_unique():
    assert len({keys.generate("sk") for _ in range(1000)}) == 1000


def test_empty_separator_refused():
    with pytest.raises(ValueError):
        keys.make_parser({"sk": "s"}, "")
    assert not keys.verify_format("skAAA", separator="")


def test_keys_module_uses_the_standard_library_only():
    tree = ast.parse(Path(keys.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {
        "__future__",
        "hashlib",
        "re",
        "secrets",
        "string",
        "zlib",
        "collections",
        "typing",
    }


@settings(max_examples=300, deadline=None)
@given(prefix=st.sampled_from(PREFIXES), sep=st.sampled_from(SEPARATORS))
def test_every_generated_key_verifies(prefix, sep):
    raw = keys.generate(prefix, sep)
    assert keys.verify_format(raw, separator=sep)
    assert keys.verify_format(raw, prefixes=[prefix], separator=sep)
    assert keys.parse(raw, {prefix: "t"}, sep) is not None


bodies = st.text(alphabet=keys.ALPHABET, min_size=keys.BODY_LENGTH, max_size=keys.BODY_LENGTH)


@settings(max_examples=1000, deadline=None)
@given(
    prefix=st.sampled_from(PREFIXES), sep=st.sampled_from(SEPARATORS), body=bodies, data=st.data()
)
def test_every_single_character_mutation_fails(prefix, sep, body, data):
    raw = f"{prefix}{sep}{body}{sep}{keys.checksum(body)}"
    assert keys.parse(raw, {prefix: "t"}, sep) is not None
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    replacement = data.draw(st.characters(exclude_characters=raw[index]))
    mutated = raw[:index] + replacement + raw[index + 1 :]
    assert keys.parse(mutated, {prefix: "t"}, sep) is None
    assert not keys.verify_format(mutated, prefixes=[prefix], separator=sep)
