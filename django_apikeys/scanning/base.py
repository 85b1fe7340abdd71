"""The verifier interface: what a secret scanner must provide to report leaks.

A verifier checks that a request really comes from its scanner
(:meth:`Verifier.verify`, over the raw body, before anything is parsed or
looked up), turns the body into :class:`LeakReport` objects
(:meth:`Verifier.parse`) and the outcome into the scanner's response
(:meth:`Verifier.feedback`). The defaults of ``parse`` and ``feedback`` speak
the shape GitHub's partner program defined; a scanner with that shape only
writes ``verify``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from ..services.leaks import LeakResult

#: The most tokens one report may carry (GitHub sends far fewer per request).
MAX_REPORTS = 10_000
#: Longest ``url`` / ``source`` / ``type`` kept in the audit log.
MAX_URL_LENGTH = 2000
MAX_FIELD_LENGTH = 100
#: Longer than any key: a longer token is not ours and is not hashed.
MAX_TOKEN_LENGTH = 1000


class ScanningError(Exception):
    """A refused report: ``status``, a stable ``code`` and a ``detail``."""

    status = 400
    code = "invalid_payload"
    error_type = "InvalidRequestError"
    default_detail: Any = _("The report is not valid.")

    def __init__(self, detail: Any = None) -> None:
        self.detail = detail if detail is not None else self.default_detail
        super().__init__(str(self.detail))


class InvalidPayload(ScanningError):
    """400: the signed body is not a list of ``{token, type, url, source}``."""


class InvalidSignature(ScanningError):
    """401: missing, malformed or wrong signature, or an unknown key id."""

    status = 401
    code = "invalid_signature"
    error_type = "AuthenticationError"
    default_detail = _("The report's signature does not verify.")


class PublicKeysUnavailable(ScanningError):
    """503: the scanner's public keys could not be fetched; it will retry."""

    status = 503
    code = "public_keys_unavailable"
    error_type = "APIError"
    default_detail = _("The scanner's public keys cannot be fetched right now; retry later.")


@dataclass(frozen=True)
class LeakReport:
    """One reported token. ``token`` is a secret: it never appears in a repr,
    a log line or the database (only its SHA-256 does)."""

    token: str = field(repr=False)
    type: str = ""
    url: str = ""
    source: str = ""


def _text(item: dict[str, Any], name: str, limit: int) -> str:
    value = item.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidPayload(_("“%(field)s” must be a string.") % {"field": name})
    return value[:limit]


class Verifier:
    """Base class of the scanners the receiver accepts.

    Subclasses set ``name`` and implement :meth:`verify`; they are listed in
    ``APIKEYS["SECRET_SCANNING_VERIFIERS"]`` (URL name -> import path).
    """

    name = ""

    def verify(self, request: HttpRequest, body: bytes) -> None:
        """Raise :class:`InvalidSignature` unless ``body`` was signed by the
        scanner (or :class:`PublicKeysUnavailable` if that cannot be known now)."""
        raise NotImplementedError

    def parse(self, body: bytes) -> list[LeakReport]:
        """The reports in a verified body: a JSON list of
        ``{"token", "type", "url", "source"}`` (raises :class:`InvalidPayload`)."""
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise InvalidPayload(_("The body is not JSON.")) from None
        except RecursionError:  # nested deeper than the parser can go
            raise InvalidPayload(_("The body is nested too deeply.")) from None
        if not isinstance(data, list):
            raise InvalidPayload(_("The body must be a JSON list of reported tokens."))
        if len(data) > MAX_REPORTS:
            raise InvalidPayload(_("At most %(max)s tokens per report.") % {"max": MAX_REPORTS})
        reports = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("token"), str):
                raise InvalidPayload(_("Each entry needs a “token” string."))
            reports.append(
                LeakReport(
                    token=item["token"],
                    type=_text(item, "type", MAX_FIELD_LENGTH),
                    url=_text(item, "url", MAX_URL_LENGTH),
                    source=_text(item, "source", MAX_FIELD_LENGTH),
                )
            )
        return reports

    def feedback(self, results: Sequence[LeakResult]) -> list[dict[str, Any]]:
        """The response body: per token its SHA-256 (never the token itself:
        a raw key is not echoed anywhere), its type and the label."""
        return [
            {
                "token_hash": result.token_hash,
                "token_type": result.report.type,
                "label": "true_positive" if result.api_key is not None else "false_positive",
            }
            for result in results
        ]
