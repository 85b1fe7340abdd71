"""Counting refusals in the usage analytics, once the response is known.

Refusals are counted here, after the response, and not in the exception
handler: a site that keeps its own handler keeps the analytics, and a
refusal that did not end the request (a permission of ours refusing inside
``HasScopes | IsAdminUser`` while ``IsAdminUser`` admits) is not counted.
:class:`~django_apikeys.middleware.RateLimitHeadersMiddleware` calls
:func:`count` for every response.

What is counted (:func:`django_apikeys.metering.record_refusal`): a client
error (4xx) answered to a request that

* this app's authentication, permission or throttle classes refused
  (:func:`django_apikeys.exceptions.note_refusal`): under the code of the last
  refusal they noted; or
* carried one of this app's credentials and was refused by another class
  (DRF's ``IsAdminUser``, a composition, another throttle): under the
  generic code of its status (``authentication_failed``,
  ``permission_denied``, ``rate_limited``).

A refusal is counted against the credential it is about and that
credential's organization. A refusal without a proved credential (an
unknown key, a bad checksum) is counted globally, whatever organization the
request names in its headers: naming one proves nothing. Requests without
any credential (``not_authenticated``), refusals of session users, 5xx
answers and errors the view raises after the request was metered as
admitted are not counted.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

# ``exceptions`` as a module: it may still be loading (it imports DRF's views,
# which import the authentication classes, which import the middleware).
from . import exceptions, metering
from .abstract import AbstractAPIKey
from .credentials import Credential

__all__ = ["count"]

#: The code of a refusal another class decided, by status.
GENERIC_CODES = {401: "authentication_failed", 403: "permission_denied", 429: "rate_limited"}


def _credential(value: Any) -> AbstractAPIKey | Credential | None:
    return value if isinstance(value, (AbstractAPIKey, Credential)) else None


def count(request: HttpRequest, response: Any) -> None:
    """Count the refusal ``response`` answers to ``request``, if it is one
    (see the module docstring). At most one cache increment; never raises."""
    status = getattr(response, "status_code", 200)
    if not 400 <= status < 500 or getattr(request, exceptions.ADMITTED_ATTR, False):
        return
    refusal = exceptions.noted_refusal(request)
    # DRF copies request.auth onto the Django request; never re-run authentication.
    credential = _credential(getattr(refusal, "credential", None)) or _credential(
        request.__dict__.get("auth")
    )
    if refusal is not None:
        if credential is None and not isinstance(refusal, exceptions.AuthenticationError):
            return  # a session user refused by a permission
        code = refusal.default_code
    elif credential is not None and status in GENERIC_CODES:
        code = GENERIC_CODES[status]
    else:
        return
    if credential is None:
        metering.record_refusal(code)
    else:
        metering.record_refusal(code, credential.organization_id, credential.pk)
