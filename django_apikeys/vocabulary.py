"""The site's scope vocabulary: what the dashboard offers when a key is created.

``APIKEYS["SCOPE_VOCABULARY"]`` plus the scopes the site's own views declare
for :class:`~django_apikeys.permissions.HasScopes` (``scope_resource`` gives
``<resource>:read`` and ``<resource>:write``; ``required_scopes`` names its
scopes). So a new site whose view says ``scope_resource = "clients"`` sees
``clients`` in the scope grid without configuring anything.

The views are found by walking the root URLconf once per resolver (Django
builds a new resolver when ``ROOT_URLCONF`` changes, so the result follows it).
Only class attributes are read: a view that computes its scopes per request
is not seen, and ``SCOPE_VOCABULARY`` names those.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from weakref import WeakKeyDictionary

from django.core.exceptions import ValidationError
from django.urls import URLPattern, URLResolver, get_resolver

from .conf import apikeys_settings
from .scopes import normalize_scopes

_found: WeakKeyDictionary[URLResolver, tuple[str, ...]] = WeakKeyDictionary()


def _declared(view_class: Any) -> list[str]:
    """The scopes one view class declares (nothing for a non-DRF or computed view)."""
    scopes: list[str] = []
    resource = getattr(view_class, "scope_resource", None)
    if isinstance(resource, str) and resource:
        scopes += [f"{resource}:read", f"{resource}:write"]
    required = getattr(view_class, "required_scopes", None)
    if isinstance(required, (list, tuple)):
        scopes += [scope for scope in required if isinstance(scope, str)]
    return scopes


def _walk(patterns: Iterable[Any]) -> Iterable[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            # DRF's as_view() sets .cls (APIView, ViewSet); Django's .view_class.
            callback = pattern.callback
            view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            if view_class is not None:
                yield from _declared(view_class)


def view_scopes() -> tuple[str, ...]:
    """Scopes the views of the root URLconf declare, normalised, in URL order.

    A declared scope that does not parse is left out here; the permission
    class reports it when the view is called.
    """
    resolver = get_resolver()
    if resolver not in _found:
        scopes: list[str] = []
        for scope in _walk(resolver.url_patterns):
            try:
                scopes.extend(normalize_scopes([scope]))
            except ValidationError:
                continue
        _found[resolver] = tuple(dict.fromkeys(scopes))
    return _found[resolver]


def site_vocabulary() -> list[str]:
    """``APIKEYS["SCOPE_VOCABULARY"]`` followed by :func:`view_scopes`, without repeats."""
    configured = normalize_scopes(apikeys_settings.SCOPE_VOCABULARY)
    return list(dict.fromkeys([*configured, *view_scopes()]))
