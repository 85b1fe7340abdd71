"""Raw keys stay out of Django's error reports (sensitive_variables)."""

from __future__ import annotations

import sys
from unittest import mock

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from django_apikeys.authentication import APIKeyAuthentication
from tests.factories import bearer, make_key

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


# --- raw keys in error reports ------------------------------------------------------------


def _error_report(request):
    """Fail a lookup and render the error report, as an error e-mail would
    (the caller's frame, which holds the raw key, is not part of it)."""
    from rest_framework.request import Request

    with mock.patch(
        "django_apikeys.services.resolution._load_key", side_effect=RuntimeError("db gone")
    ):
        try:
            APIKeyAuthentication().authenticate(Request(request))
        except RuntimeError:
            exc_info = sys.exc_info()
    reporter = ExceptionReporter(request, *exc_info)
    return reporter.get_traceback_html() + reporter.get_traceback_text()


def test_raw_key_is_not_in_error_reports():
    _, raw = make_key()
    for headers in (bearer(raw), {"HTTP_X_API_KEY": raw}):
        report = _error_report(RequestFactory().get(ME, **headers))
        assert "db gone" in report and "resolve_key" in report
        assert raw.split("_")[1] not in report


@pytest.mark.parametrize("fields", ["query", "form"])
def test_a_request_with_too_many_fields_still_gets_its_report(settings, fields):
    """More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: request.GET/POST raise
    TooManyFieldsSent on every access; the report of the real error is still
    written, with the key header still hidden."""
    from django_apikeys.debug import APIKeyExceptionReporterFilter

    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 100
    _, raw = make_key()
    many = "&".join(f"p{i}=1" for i in range(1500))
    if fields == "query":
        request = RequestFactory().get(f"{ME}?{many}", **bearer(raw))
    else:
        request = RequestFactory().post(
            ME, many, content_type="application/x-www-form-urlencoded", **bearer(raw)
        )
    # As DEFAULT_EXCEPTION_REPORTER_FILTER would (Django caches that setting).
    request.exception_reporter_filter = APIKeyExceptionReporterFilter()
    try:
        raise RuntimeError("the real error")
    except RuntimeError:
        exc_info = sys.exc_info()
    reporter = ExceptionReporter(request, *exc_info)
    report = reporter.get_traceback_html() + reporter.get_traceback_text()
    assert "the real error" in report
    assert raw.split("_")[1] not in report
