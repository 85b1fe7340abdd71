"""The secret-scanning receiver: scanners report leaked keys, the app acts.

A scanner (GitHub's secret scanning partner program, or any other with the
same shape) POSTs a signed JSON list of ``{token, type, url, source}`` to
``secret-scanning/<scanner>/`` under the app's URLs. A :class:`Verifier`
checks the signature over the raw body before anything else happens, then
:func:`django_apikeys.services.report_leaks` looks the tokens up in one
query and revokes (or flags) the live keys among them. The response is the
partner protocol's feedback list. Off unless ``APIKEYS["SECRET_SCANNING_ENABLED"]``.

Modules: :mod:`.base` (the verifier interface, reports, errors),
:mod:`.github` (GitHub's ECDSA signatures and public keys), :mod:`.views`.
"""

from __future__ import annotations

from .base import (
    InvalidPayload,
    InvalidSignature,
    LeakReport,
    PublicKeysUnavailable,
    ScanningError,
    Verifier,
)

__all__ = [
    "InvalidPayload",
    "InvalidSignature",
    "LeakReport",
    "PublicKeysUnavailable",
    "ScanningError",
    "Verifier",
]
