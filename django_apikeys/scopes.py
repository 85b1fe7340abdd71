"""One scope vocabulary for API keys, roles and (later) OAuth tokens.

Grammar:

* ``resource:action`` such as ``clients:read`` or ``fraud:report``;
* the same written ``action:resource`` (``read:clients``) when the first word
  is one of ``APIKEYS["SCOPE_ACTIONS"]``: normalised to ``resource:action``;
* a bare word such as ``assess`` (a permission with no resource part);
* ``resource:*`` grants every action on a resource; ``*`` grants everything.

Words are lowercase letters, digits, ``-``, ``_`` and ``.``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

WILDCARD = "*"
_WORD = r"[a-z0-9][a-z0-9_.\-]*"
_SCOPE_RE = re.compile(rf"^(?:\*|{_WORD}(?::(?:{_WORD}|\*))?)$")


def _actions() -> Collection[str]:
    from .conf import apikeys_settings

    return frozenset(apikeys_settings.SCOPE_ACTIONS)


def normalize_scope(scope: str, actions: Collection[str] | None = None) -> str:
    """Return ``scope`` in canonical ``resource:action`` form.

    Raises ``ValidationError`` (code ``invalid_scope``) on bad grammar.
    """
    if not isinstance(scope, str):
        raise ValidationError(_("A scope must be a string."), code="invalid_scope")
    value = scope.strip().lower()
    if not _SCOPE_RE.match(value):
        raise ValidationError(
            _("“%(scope)s” is not a valid scope; write resource:action, e.g. clients:read."),
            code="invalid_scope",
            params={"scope": scope[:100]},
        )
    first, sep, second = value.partition(":")
    if sep and second != WILDCARD:
        known = _actions() if actions is None else actions
        if first in known and second not in known:
            return f"{second}:{first}"
    return value


def normalize_scopes(scopes: Iterable[str] | str | None) -> list[str]:
    """Normalise, de-duplicate and sort a list of scopes (a string is split on spaces/commas)."""
    if scopes is None:
        return []
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    actions = _actions()
    return sorted({normalize_scope(s, actions) for s in scopes})


def grants(granted: Collection[str], required: str) -> bool:
    """True if the normalised scopes in ``granted`` cover the normalised ``required`` one."""
    if WILDCARD in granted or required in granted:
        return True
    resource, sep, _action = required.partition(":")
    return bool(sep) and f"{resource}:{WILDCARD}" in granted


def grants_all(granted: Collection[str], required: Iterable[str]) -> bool:
    return all(grants(granted, scope) for scope in required)


def missing(granted: Collection[str], required: Iterable[str]) -> list[str]:
    """The required scopes that ``granted`` does not cover, in order."""
    return [scope for scope in required if not grants(granted, scope)]


def expand_wildcard(requested: Iterable[str], allowance: Collection[str]) -> list[str]:
    """``requested`` with ``*`` read as "everything ``allowance`` permits".

    A key type that may carry only some scopes (a checkout key: ``assess``)
    gives ``*`` the meaning "full access for that key type": the type's own
    scopes, and nothing more. Where the allowance holds ``*`` itself, or
    nothing asks for ``*``, the request is returned unchanged (sorted).
    """
    requested = set(requested)
    if WILDCARD in requested and WILDCARD not in allowance:
        requested.discard(WILDCARD)
        requested.update(allowance)
    return sorted(requested)


def is_subset(requested: Iterable[str], allowed: Collection[str]) -> bool:
    """True if every requested scope (possibly a wildcard) lies within ``allowed``."""
    return not outside(requested, allowed)


def outside(requested: Iterable[str], allowed: Collection[str]) -> list[str]:
    """The requested scopes that ``allowed`` does not cover.

    A wildcard request is covered only by an equal or wider wildcard:
    ``clients:*`` needs ``clients:*`` or ``*``; ``*`` needs ``*``.
    """
    result = []
    for scope in requested:
        if scope == WILDCARD:
            ok = WILDCARD in allowed
        elif scope.endswith(":" + WILDCARD):
            ok = WILDCARD in allowed or scope in allowed
        else:
            ok = grants(allowed, scope)
        if not ok:
            result.append(scope)
    return result
