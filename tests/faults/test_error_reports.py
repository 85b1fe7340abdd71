"""Nothing secret in error reports.

Errors are forced at each stage of the pipeline (credential extraction,
hashing, the key lookup, the throttle, the view) and the report rendered the
two ways Django renders it: the ``DEBUG = True`` page and the plain-text
report that ``AdminEmailHandler`` and other reporters send.
"""

from __future__ import annotations

import sys

import pytest
from django.core.signals import got_request_exception
from django.test import Client
from django.views.debug import ExceptionReporter, get_default_exception_reporter_filter

from django_apikeys import keys
from tests.factories import make_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_filter_uncached():
    yield
    get_default_exception_reporter_filter.cache_clear()


FILTER = "django_apikeys.debug.APIKeyExceptionReporterFilter"
#: Django's own filter, which the test settings replace with the app's.
DJANGO_FILTER = "django.views.debug.SafeExceptionReporterFilter"
ME = "/api/v1/me"


class Boom(Exception):
    pass


def _explode(*args, **kwargs):
    raise Boom("forced")


STAGES = {
    "authenticate": "django_apikeys.authentication.services.resolve_key",
    "hashing": "django_apikeys.keys.hash_key",
    "lookup": "django_apikeys.services.resolution._load_key",
    "throttle": "django_apikeys.throttling.limits_for",
    "view": "example.api.views.WhoAmI.get",
}


def _reports(settings, monkeypatch, stage, headers):
    """Force an error at ``stage``; return the debug page and the text report."""
    settings.DEBUG = True
    get_default_exception_reporter_filter.cache_clear()  # Django caches it for the process
    monkeypatch.setattr(STAGES[stage], _explode)
    captured = []

    def capture(sender, request, **kwargs):
        captured.append((request, sys.exc_info()))

    got_request_exception.connect(capture)
    try:
        response = Client(raise_request_exception=False).get(ME, **headers)
    finally:
        got_request_exception.disconnect(capture)
    assert response.status_code == 500
    request, exc_info = captured[0]
    text = ExceptionReporter(request, *exc_info).get_traceback_text()
    return response.content.decode(), text


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_API_KEY"])
def test_no_raw_key_in_any_report(settings, monkeypatch, stage, header):
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = FILTER
    _api_key, raw = make_key()
    value = f"Bearer {raw}" if header == "HTTP_AUTHORIZATION" else raw
    page, text = _reports(settings, monkeypatch, stage, {header: value})
    body = raw.split("_")[1]
    assert "Boom" in page and "Boom" in text  # the reports were rendered
    assert body not in page, f"raw key on the debug page ({stage})"
    assert body not in text, f"raw key in the text report ({stage})"


def test_a_custom_key_header_is_hidden(settings, monkeypatch):
    settings.APIKEYS = {"KEY_HEADERS": ["X-Widget"]}
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = DJANGO_FILTER
    _api_key, raw = make_key()
    body = raw.split("_")[1]
    # Django's own filter shows it: "X-Widget" does not look like a secret header.
    page, text = _reports(settings, monkeypatch, "view", {"HTTP_X_WIDGET": raw})
    assert body in page or body in text
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = FILTER
    page, text = _reports(settings, monkeypatch, "view", {"HTTP_X_WIDGET": raw})
    assert body not in page and body not in text
    assert "HTTP_X_WIDGET" in text  # hidden, not dropped


def test_without_the_filter_the_lookup_stage_leaks(settings, monkeypatch):
    """The fault is real: Django's default filter shows the key in an unmarked frame."""
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = DJANGO_FILTER
    _api_key, raw = make_key()
    page, text = _reports(settings, monkeypatch, "hashing", {"HTTP_X_API_KEY": raw})
    assert raw.split("_")[1] in page + text


def test_key_pattern_finds_keys_inside_text(settings):
    from django_apikeys.debug import contains_key

    _api_key, raw = make_key()
    assert contains_key(f"prefix {raw} suffix")
    assert not contains_key(raw[:20])
    assert not contains_key(raw.replace("sk_", "zz_"))
    assert keys.verify_format(raw)
