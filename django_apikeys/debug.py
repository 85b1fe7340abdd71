"""Error reports without credentials: an exception-reporter filter.

Django's debug page (``DEBUG = True``) and its error e-mails and reporters
(``AdminEmailHandler``, anything built on ``ExceptionReporter``) print each
frame's local variables and the request's headers. Django hides settings and
headers whose *names* look secret and variables marked with
``sensitive_variables``; a raw key can still show up in a frame that was not
marked (a parser, a hash function, a third-party authentication class) or
in a custom key header whose name does not look secret. Install::

    DEFAULT_EXCEPTION_REPORTER_FILTER = "django_apikeys.debug.APIKeyExceptionReporterFilter"

and every report hides

* the configured key headers (``APIKEYS["KEY_HEADERS"]``) and
  ``Authorization``, whatever their names;
* the key query parameter (``APIKEYS["QUERY_PARAM"]``) in ``GET`` and in
  ``QUERY_STRING``;
* any local variable, at any depth of a dict, list, tuple or set, whose text
  contains something shaped like one of this site's keys (a configured
  prefix, the separator, a body and a checksum), and parsed keys.

A request with more query or form fields than
``DATA_UPLOAD_MAX_NUMBER_FIELDS`` makes ``request.GET``/``request.POST``
raise ``TooManyFieldsSent`` on every access, and Django's reporter reads
both: the filter gives the report the first that many query fields (and no
form fields) instead, so the report of the real error is still written.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict
from django.views.debug import SafeExceptionReporterFilter

from .conf import apikeys_settings
from .keys import ParsedKey

__all__ = ["APIKeyExceptionReporterFilter", "contains_key", "key_pattern"]

_MAX_DEPTH = 4


@lru_cache(maxsize=8)
def _pattern(prefixes: tuple[str, ...], separator: str, body_length: int) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
    sep = re.escape(separator)
    return re.compile(rf"(?:{alternatives}){sep}[A-Za-z0-9]{{{body_length}}}{sep}[0-9a-f]{{8}}")


def key_pattern() -> re.Pattern[str]:
    """A regular expression that finds this site's keys inside any text."""
    conf = apikeys_settings
    prefixes = tuple(kt.prefix for kt in conf.key_types.values())
    return _pattern(prefixes, conf.SEPARATOR, conf.BODY_LENGTH)


def contains_key(text: str) -> bool:
    return bool(key_pattern().search(text))


def _secret_meta_names() -> set[str]:
    conf = apikeys_settings
    return {"HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION", *conf.header_meta_names}


class APIKeyExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's ``SafeExceptionReporterFilter`` that also hides API keys (see module)."""

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        meta = super().get_safe_request_meta(request)
        secret = _secret_meta_names()
        param = apikeys_settings.QUERY_PARAM
        for name, value in meta.items():
            if name in secret:
                meta[name] = self.cleansed_substitute
            elif name == "QUERY_STRING" and param and f"{param}=" in str(value):
                meta[name] = self.cleansed_substitute
            else:
                meta[name] = self._scrub(value)
        return meta

    def get_post_parameters(self, request: Any) -> Any:
        if request is not None:
            _readable_fields(request)
        return super().get_post_parameters(request)

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._scrub(value)) for name, value in variables]

    def cleanse_special_types(self, request: Any, value: Any) -> Any:
        value = super().cleanse_special_types(request, value)
        if isinstance(value, HttpRequest):
            _hide_query_param(value, self.cleansed_substitute)
        return value

    def _scrub(self, value: Any, depth: int = 0) -> Any:
        """``value`` with every key-shaped text replaced; containers element by element."""
        if isinstance(value, ParsedKey):  # a key taken apart: its body alone is the secret
            return self.cleansed_substitute
        if isinstance(value, (str, bytes)):
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            return self.cleansed_substitute if contains_key(text) else value
        if depth >= _MAX_DEPTH:
            return value
        if isinstance(value, dict):
            secret = _secret_meta_names()
            return {
                k: self.cleansed_substitute if k in secret else self._scrub(v, depth + 1)
                for k, v in value.items()
            }
        if type(value) in (list, tuple, set, frozenset):  # not subclasses (named tuples)
            scrubbed = [self._scrub(item, depth + 1) for item in value]
            return scrubbed if isinstance(value, list) else type(value)(scrubbed)
        try:
            text = repr(value)
        except Exception:  # a broken __repr__ is the reporter's business, not ours
            return value
        return self.cleansed_substitute if contains_key(text) else value


def _readable_fields(request: HttpRequest) -> None:
    """Make ``request.GET`` and ``request.POST`` readable by the reporter: a
    request over ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` raises on each access."""
    try:
        request.GET  # noqa: B018
    except SuspiciousOperation:  # TooManyFieldsSent (and its kin)
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 0
        query = QueryDict(mutable=True)
        pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
        for name, value in pairs[:limit]:
            query.appendlist(name, value)
        request.GET = query  # type: ignore[assignment]
    try:
        request.POST  # noqa: B018
        request.FILES  # noqa: B018
    except (SuspiciousOperation, OSError):  # too many fields, or a body no longer readable
        # HttpRequest's own attributes behind POST and FILES (its parser sets the same).
        request._post = QueryDict()  # type: ignore[attr-defined]
        request._files = MultiValueDict()  # type: ignore[attr-defined]


def _hide_query_param(request: HttpRequest, substitute: str) -> None:
    _readable_fields(request)
    param = apikeys_settings.QUERY_PARAM
    if param and param in request.GET:
        query = request.GET.copy()
        query[param] = substitute
        request.GET = query  # type: ignore[assignment]
