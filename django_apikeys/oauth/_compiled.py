"""The authorization lookup compiled to SQL once per connection.

The same technique, and the same reliance on Django's private compiler
internals, as the core's :mod:`django_apikeys._compiled_lookup` (whose
:class:`~django_apikeys._compiled_lookup.CompiledLookup` builds the objects):
only the filter differs (the primary key, a UUID, instead of the key hash).
Any error while compiling falls back to the plain queryset, logged once;
``tests/oauth/test_compiled.py`` checks both build the same objects.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from django_apikeys._compiled_lookup import CompiledLookup

logger = logging.getLogger("django_apikeys")

_PLACEHOLDER = uuid.UUID("00000000-0000-4000-8000-0000a91c0de5")


class GrantLookup(CompiledLookup):
    def __init__(self, queryset: models.QuerySet[Any], connection: BaseDatabaseWrapper) -> None:
        pk = queryset.model._meta.pk
        assert pk is not None
        self._prep = lambda value: pk.get_db_prep_value(value, connection, prepared=False)
        queryset = queryset.filter(pk=_PLACEHOLDER).order_by()[:1]
        compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slot = self.params.index(self._prep(_PLACEHOLDER))
        select = compiler.select[: compiler.col_count]
        self.converters = list(compiler.get_converters([s[0] for s in select]).items())
        self.annotations = tuple((compiler.annotation_col_map or {}).items())
        self.root = self._node(compiler.klass_info, compiler.select)
        self.alias = connection.alias

    def fetch_id(self, connection: BaseDatabaseWrapper, grant_id: Any) -> Any:
        value = grant_id if isinstance(grant_id, uuid.UUID) else uuid.UUID(str(grant_id))
        return self.fetch(connection, self._prep(value))


_lookups: weakref.WeakKeyDictionary[BaseDatabaseWrapper, GrantLookup | None] = (
    weakref.WeakKeyDictionary()
)
_failed_logged = False


def grant_lookup(
    connection: BaseDatabaseWrapper, queryset: Callable[[], models.QuerySet[Any]]
) -> GrantLookup | None:
    global _failed_logged
    if connection not in _lookups:
        try:
            _lookups[connection] = GrantLookup(queryset(), connection)
        except Exception:  # noqa: BLE001 - any change in Django's internals: fall back
            _lookups[connection] = None
            if not _failed_logged:
                _failed_logged = True
                logger.warning(
                    "The OAuth authorization lookup could not be compiled; using the plain "
                    "queryset instead.",
                    exc_info=True,
                )
    return _lookups[connection]
