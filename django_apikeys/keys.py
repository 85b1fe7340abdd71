"""Key format: generate, format, parse, checksum and hash.

This module is pure: standard library only, no Django, no ORM. Clients may
vendor :func:`verify_format` to check a key offline before sending it.

A key reads ``<prefix><sep><body><sep><checksum>``:

* ``body`` is ``BODY_LENGTH`` characters from ``[A-Za-z0-9]`` drawn with
  :mod:`secrets`;
* ``checksum`` is ``format(zlib.crc32(body) & 0xFFFFFFFF, "08x")``.

Prefixes may contain the separator (``clm_sk``, ``sk-live``), so parsing
matches the known prefixes longest first and takes body and checksum from the
right. The checksum catches typos and truncation; it is not a secret and adds
no security: the body's 190 random bits do.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import zlib
from collections.abc import Iterable, Mapping
from typing import NamedTuple

__all__ = [
    "ALPHABET",
    "BODY_LENGTH",
    "CHECKSUM_LENGTH",
    "MAX_PREFIX_LENGTH",
    "ParsedKey",
    "checksum",
    "display_hint",
    "generate",
    "hash_key",
    "KeyPattern",
    "key_pattern",
    "make_parser",
    "parse",
    "valid_prefix",
    "verify_format",
]

ALPHABET = string.ascii_letters + string.digits
BODY_LENGTH = 32
CHECKSUM_LENGTH = 8
_ALPHABET_SET = frozenset(ALPHABET)
_HEX_LOWER = frozenset("0123456789abcdef")


class ParsedKey(NamedTuple):
    """A raw key split into its parts; ``key_type`` is the name mapped to the prefix."""

    key_type: str
    prefix: str
    body: str
    checksum: str


def checksum(body: str) -> str:
    """Return the 8-character lowercase hex CRC-32 of ``body``."""
    return format(zlib.crc32(body.encode("utf-8")) & 0xFFFFFFFF, "08x")


def generate(prefix: str, separator: str = "_", body_length: int = BODY_LENGTH) -> str:
    """Return a new raw key for ``prefix``. The caller shows it once and stores its hash."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(body_length))
    return f"{prefix}{separator}{body}{separator}{checksum(body)}"


def hash_key(raw_key: str) -> str:
    """Return the SHA-256 hex digest stored instead of the key."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def display_hint(raw_key: str, separator: str = "_") -> str:
    """Return a short, non-secret reminder such as ``sk_AbCd…3c4d``.

    It shows the prefix, the first four characters of the body and the last
    four of the checksum: enough to tell keys apart, far too little to use.
    """
    rest, _, check = raw_key.rpartition(separator)
    prefix, _, body = rest.rpartition(separator)
    return f"{prefix}{separator}{body[:4]}…{check[-4:]}"


def _valid_body(body: str, body_length: int) -> bool:
    return len(body) == body_length and _ALPHABET_SET.issuperset(body)


def _split(rest: str, separator: str) -> tuple[str, str] | None:
    body, sep, check = rest.rpartition(separator)
    if not sep:
        return None
    return body, check


def parse(
    raw_key: str,
    prefixes: Mapping[str, str],
    separator: str = "_",
    body_length: int = BODY_LENGTH,
) -> ParsedKey | None:
    """Split ``raw_key`` into its parts, or return ``None`` if it is not a valid key.

    ``prefixes`` maps each known prefix to its key type name. Format, alphabet
    and checksum are all checked: a ``ParsedKey`` is a key that could exist.
    """
    return make_parser(prefixes, separator, body_length)(raw_key)


def make_parser(
    prefixes: Mapping[str, str],
    separator: str = "_",
    body_length: int = BODY_LENGTH,
) -> _Parser:
    """Return a fast parser bound to one configuration (used on the hot path)."""
    return _Parser(prefixes, separator, body_length)


class _Parser:
    __slots__ = ("_candidates", "_max_length", "_separator", "_body_length")

    def __init__(self, prefixes: Mapping[str, str], separator: str, body_length: int) -> None:
        if not separator:
            raise ValueError("The key separator must not be empty.")
        # Longest first, so that ``sk_live`` wins over ``sk``.
        ordered = sorted(prefixes.items(), key=lambda item: len(item[0]), reverse=True)
        self._candidates = tuple((prefix + separator, prefix, name) for prefix, name in ordered)
        self._separator = separator
        self._body_length = body_length
        longest = max((len(p) for p in prefixes), default=0)
        self._max_length = longest + 2 * len(separator) + body_length + CHECKSUM_LENGTH

    def __call__(self, raw_key: str) -> ParsedKey | None:
        if not isinstance(raw_key, str) or len(raw_key) > self._max_length:
            return None
        for head, prefix, name in self._candidates:
            if not raw_key.startswith(head):
                continue
            parts = _split(raw_key[len(head) :], self._separator)
            if parts is None:
                return None
            body, check = parts
            if (
                len(check) == CHECKSUM_LENGTH
                and _HEX_LOWER.issuperset(check)
                and _valid_body(body, self._body_length)
                and checksum(body) == check
            ):
                return ParsedKey(name, prefix, body, check)
            return None
        return None

    def looks_like_key(self, value: str) -> bool:
        """True if ``value`` starts with one of the known prefixes (format not checked)."""
        return any(value.startswith(head) for head, _, _ in self._candidates)


#: The longest prefix :func:`verify_format` accepts without ``prefixes``.
MAX_PREFIX_LENGTH = 32
_PREFIX_CHARS = frozenset(string.ascii_lowercase + string.digits)


def valid_prefix(prefix: str, max_length: int = MAX_PREFIX_LENGTH) -> bool:
    """True if ``prefix`` follows the prefix grammar.

    One or more groups of lower-case ASCII letters and digits, joined by
    single ``_`` or ``-`` characters, at most ``max_length`` characters:
    ``sk``, ``clm_sk``, ``sk-live`` pass; ``SK``, ``sk_``, ``_sk``, ``sk__x``,
    `` sk`` and ``Bearer sk`` do not.
    """
    if not isinstance(prefix, str) or not 0 < len(prefix) <= max_length:
        return False
    groups = prefix.replace("-", "_").split("_")
    return all(group and _PREFIX_CHARS.issuperset(group) for group in groups)


def verify_format(
    raw_key: str,
    prefixes: Iterable[str] | None = None,
    separator: str = "_",
    body_length: int = BODY_LENGTH,
) -> bool:
    """Offline format and checksum check, standard library only.

    With ``prefixes`` the prefix must be one of them. Without, it must follow
    the prefix grammar (:func:`valid_prefix`: lower-case letters and digits,
    optionally joined by ``_`` or ``-``) and be shorter than a body and its
    checksum, so that what a client sends by mistake fails: a leading or
    trailing space, the ``Bearer`` scheme pasted along, an upper-case
    prefix, two keys pasted together. Clients can run this before making a
    request::

        >>> verify_format("sk_" + "A" * 32 + "_" + checksum("A" * 32))
        True
        >>> verify_format("Bearer sk_" + "A" * 32 + "_" + checksum("A" * 32))
        False
    """
    if not isinstance(raw_key, str) or not separator:
        return False
    if prefixes is not None:
        return parse(raw_key, {p: p for p in prefixes}, separator, body_length) is not None
    rest, sep, check = raw_key.rpartition(separator)
    if not sep:
        return False
    prefix, sep, body = rest.rpartition(separator)
    # A second key pasted in front would make the prefix longer than a body
    # and its checksum: the length bound refuses it whatever its letters.
    longest = min(MAX_PREFIX_LENGTH, body_length + CHECKSUM_LENGTH)
    return bool(
        sep
        and valid_prefix(prefix, longest)
        and len(check) == CHECKSUM_LENGTH
        and _HEX_LOWER.issuperset(check)
        and _valid_body(body, body_length)
        and checksum(body) == check
    )


class KeyPattern(NamedTuple):
    """Regular expressions that find one key type's keys in text (for secret scanners).

    * ``secret``: the key itself, no boundaries (GitHub custom patterns'
      "secret format");
    * ``before`` / ``after``: what may surround it (start or end of text, or a
      character that cannot continue a key);
    * ``regex``: all three with lookarounds (Python, PCRE, JavaScript);
    * ``regex_re2``: for engines without lookarounds (Go RE2: gitleaks,
      trufflehog): the key is capture group 1;
    * ``sample``: a well-formed key of the type that matches (a made-up body,
      the real checksum): for testing a scanner rule, never issued.
    """

    prefix: str
    secret: str
    before: str
    after: str
    regex: str
    regex_re2: str
    sample: str


def _class_escape(chars: Iterable[str]) -> str:
    return "".join("\\" + c if c in "\\]^-[" else c for c in sorted(set(chars)))


def key_pattern(
    prefix: str,
    separator: str = "_",
    body_length: int = BODY_LENGTH,
    other_prefixes: Iterable[str] = (),
) -> KeyPattern:
    """The :class:`KeyPattern` of keys with ``prefix``, read off the format above.

    A key never continues a word: the characters around it may not be
    letters, digits, ``_``, ``-``, nor any character of the separator or of
    ``other_prefixes`` (the site's other key types), so that the pattern of
    ``live`` does not fire inside a ``sk_live_…`` key.
    """
    extra = {"_", "-", *separator, *(c for p in other_prefixes for c in p)} - _ALPHABET_SET
    word = "A-Za-z0-9" + _class_escape(extra)
    secret = (
        re.escape(prefix + separator)
        + f"[A-Za-z0-9]{{{body_length}}}"
        + re.escape(separator)
        + f"[0-9a-f]{{{CHECKSUM_LENGTH}}}"
    )
    body = (ALPHABET * (body_length // len(ALPHABET) + 1))[:body_length]
    return KeyPattern(
        prefix=prefix,
        secret=secret,
        before=f"(?:^|[^{word}])",
        after=f"(?:[^{word}]|$)",
        regex=f"(?<![{word}]){secret}(?![{word}])",
        regex_re2=f"(?:^|[^{word}])({secret})(?:[^{word}]|$)",
        sample=f"{prefix}{separator}{body}{separator}{checksum(body)}",
    )
