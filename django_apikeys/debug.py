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
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from django.http import HttpRequest
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


def _hide_query_param(request: HttpRequest, substitute: str) -> None:
    param = apikeys_settings.QUERY_PARAM
    if param and param in request.GET:
        query = request.GET.copy()
        query[param] = substitute
        request.GET = query  # type: ignore[assignment]
