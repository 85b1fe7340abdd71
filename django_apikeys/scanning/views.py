"""The receiver view: ``POST secret-scanning/<scanner>/`` (name
``django_apikeys:secret_scanning``), answered in JSON.

=======  ===========================  =============================================
status   code                         when
=======  ===========================  =============================================
200      (the feedback list)          signature verified, tokens handled
400      ``invalid_payload``          signed body that is not a list of tokens
401      ``invalid_signature``        missing, malformed or wrong signature, or an
                                      unknown public key identifier
404      —                            the receiver is off, or an unknown scanner
413      ``payload_too_large``        body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``
503      ``public_keys_unavailable``  the scanner's public keys cannot be fetched
=======  ===========================  =============================================
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.decorators import method_decorator
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from .. import services
from ..conf import apikeys_settings
from .base import ScanningError, Verifier


def verifier_for(name: str) -> Verifier | None:
    """The configured verifier called ``name``, or ``None``."""
    verifiers = apikeys_settings.SECRET_SCANNING_VERIFIERS
    if not isinstance(verifiers, dict):
        raise ImproperlyConfigured("APIKEYS['SECRET_SCANNING_VERIFIERS'] must be a dict.")
    target = verifiers.get(name)
    if target is None:
        return None
    cls = import_string(target) if isinstance(target, str) else target
    verifier = cls()
    if not isinstance(verifier, Verifier):
        raise ImproperlyConfigured(f"Secret-scanning verifier {name!r} is not a Verifier.")
    return verifier


def _error(status: int, code: str, detail: Any, error_type: str) -> JsonResponse:
    return JsonResponse({"detail": str(detail), "code": code, "type": error_type}, status=status)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters(), name="dispatch")
class SecretScanningView(View):
    """Receive a scanner's report of leaked tokens (see the module docstring)."""

    http_method_names = ["post"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not apikeys_settings.SECRET_SCANNING_ENABLED:
            raise Http404(_("Secret scanning is not enabled."))
        return super().dispatch(request, *args, **kwargs)

    @sensitive_variables("body", "reports")
    def post(self, request: HttpRequest, scanner: str) -> HttpResponse:
        verifier = verifier_for(scanner)
        if verifier is None:
            raise Http404(_("Unknown secret scanner."))
        try:
            body = request.body
        except RequestDataTooBig:
            return _error(413, "payload_too_large", _("The report is too large."), "APIError")
        try:
            verifier.verify(request, body)  # before anything is parsed or looked up
            reports = verifier.parse(body)
        except ScanningError as exc:
            return _error(exc.status, exc.code, exc.detail, exc.error_type)
        results = services.report_leaks(reports, reporter=verifier.name or scanner)
        return JsonResponse(verifier.feedback(results), safe=False)
