"""The key lookup compiled to SQL once per connection. Relies on Django internals.

Compiling the key lookup (six tables: key, organization, plan, user, the
owner's membership and its role) costs the ORM several times more than the
database takes to run it, and its SQL never changes: one statement for every
key type, which PostgreSQL can also prepare once per connection
(``docs/deployment.rst``). :class:`CompiledLookup` lets the ORM's own compiler work
out the SQL, the column converters and the row layout once; each lookup then
runs that SQL and builds the instances as ``QuerySet`` does (converters,
``Model.from_db``, select_related caches, annotations).

This reads **private parts of Django's SQL compiler** (``klass_info``,
``select``, ``annotation_col_map``, ``get_converters``), which may change
between Django versions. Two things keep that safe:

* :func:`lookup_for` falls back to the plain queryset (returns ``None``) on
  *any* error while compiling, and logs it once per process;
* ``tests/test_key_lookup.py`` checks, on every Django version in tox, that
  the compiled lookup builds exactly what the queryset builds.

**Prepared once per connection on PostgreSQL.** The lookup joins six tables;
PostgreSQL spends most of its time parsing and planning it. Unless the site
turned on psycopg's ``server_side_binding`` (then psycopg prepares it after a
few executions), the statement is prepared by this module with SQL
``PREPARE`` on the first lookup over a psycopg 3 connection (sent with that
lookup's ``EXECUTE``: no extra round trip) and run with ``EXECUTE`` from
then on: the same rows, through Django's cursor (query logging, error
wrapping and ``execute_wrappers`` unchanged). It is not done where SQL
prepared statements do not survive between statements: behind PgBouncer in
transaction mode (Django's ``DISABLE_SERVER_SIDE_CURSORS`` says so) or with
``APIKEYS["PREPARE_KEY_LOOKUP"] = False``; :func:`prepare_mode` names the
path and the system check ``django_apikeys.I001`` reports it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import weakref
from collections.abc import Callable
from functools import cached_property
from typing import Any, NamedTuple

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from .conf import apikeys_settings

logger = logging.getLogger("django_apikeys")


class _Node(NamedTuple):
    """Where one model of the lookup sits in the row, and how it hangs off its parent."""

    model: type[models.Model]
    start: int
    end: int
    attnames: tuple[str, ...]
    pk_index: int
    local_setter: Any
    remote_setter: Any
    children: tuple[_Node, ...]


class CompiledLookup:
    """A key queryset filtered by hash, compiled to SQL once: the same query
    and the same objects as the queryset, without compiling per request."""

    _PLACEHOLDER = "apikeys-hashed-key-placeholder"

    def __init__(self, queryset: models.QuerySet[Any], connection: BaseDatabaseWrapper) -> None:
        # hashed_key is unique: no ORDER BY (``first()`` would sort by -created_at).
        queryset = queryset.filter(hashed_key=self._PLACEHOLDER).order_by()[:1]
        compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slot = self.params.index(self._PLACEHOLDER)
        select = compiler.select[: compiler.col_count]
        self.converters = list(compiler.get_converters([s[0] for s in select]).items())
        self.annotations = tuple((compiler.annotation_col_map or {}).items())
        self.root = self._node(compiler.klass_info, compiler.select)
        self.alias = connection.alias

    @classmethod
    def _node(cls, klass_info: dict[str, Any], select: list[Any]) -> _Node:
        if klass_info.get("from_parent"):
            raise NotImplementedError("multi-table inheritance in select_related")
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        attnames = tuple(s[0].target.attname for s in select[start:end])
        model = klass_info["model"]
        return _Node(
            model,
            start,
            end,
            attnames,
            attnames.index(model._meta.pk.attname),
            klass_info.get("local_setter"),
            klass_info.get("remote_setter"),
            tuple(cls._node(k, select) for k in klass_info.get("related_klass_infos", ())),
        )

    def fetch(self, connection: BaseDatabaseWrapper, hashed_key: str) -> Any:
        params = self.params.copy()
        params[self.slot] = hashed_key
        with connection.cursor() as cursor:
            self._run(connection, cursor, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for pos, (converters, expression) in self.converters:
            value = row[pos]
            for converter in converters:
                value = converter(value, expression, connection)
            row[pos] = value
        api_key = self._build(self.root, row)
        for name, pos in self.annotations:
            setattr(api_key, name, row[pos])
        return api_key

    @cached_property
    def _prepared_statement(self) -> tuple[str, str, str]:
        """The statement's name, its SQL with ``$n`` parameters, and the
        ``EXECUTE`` arguments as Django's placeholders."""
        numbers = iter(range(1, len(self.params) + 1))
        numbered = re.sub(
            r"%%|%s", lambda m: m[0] if m[0] == "%%" else f"${next(numbers)}", self.sql
        )
        name = "apikeys_lookup_" + hashlib.sha256(self.sql.encode()).hexdigest()[:16]
        return name, numbered, ", ".join(["%s"] * len(self.params))

    def _run(self, connection: BaseDatabaseWrapper, cursor: Any, params: list[Any]) -> None:
        """Run the lookup: ``EXECUTE`` once the statement is prepared on this
        database connection (``PREPARE`` and ``EXECUTE`` in one round trip the
        first time), else the plain statement."""
        if prepare_mode(connection) != PREPARED_BY_APP:
            cursor.execute(self.sql, params)
            return
        name, numbered, arguments = self._prepared_statement
        prepared = _prepared.setdefault(connection.connection, {})
        state = prepared.get(name, 0)
        if isinstance(state, str):
            cursor.execute(f"EXECUTE {state} ({arguments})", params)
            return
        # A failed attempt may still have prepared its name (PREPARE outlives a
        # rollback): the next attempt uses a new one, never "already exists".
        actual = f"{name}_{state}"
        prepared[name] = state + 1
        cursor.execute(f"PREPARE {actual} AS {numbered}; EXECUTE {actual} ({arguments})", params)
        cursor.nextset()  # past PREPARE's result to EXECUTE's rows
        prepared[name] = actual

    def _build(self, node: _Node, row: list[Any]) -> models.Model | None:
        values = row[node.start : node.end]
        if values[node.pk_index] is None:  # LEFT JOIN found nothing (no plan, no user)
            return None
        obj = node.model.from_db(self.alias, node.attnames, values)
        for child in node.children:
            related = self._build(child, row)
            child.local_setter(obj, related)
            if related is not None:
                child.remote_setter(related, obj)
        return obj


PREPARED_BY_APP = "prepared by the app"
PREPARED_BY_DRIVER = "prepared by psycopg (server-side binding)"
NOT_PREPARED = "not prepared"


def prepare_mode(connection: BaseDatabaseWrapper) -> str:
    """How the key lookup runs on ``connection``: :data:`PREPARED_BY_APP`
    (PostgreSQL, SQL ``PREPARE`` once per connection), :data:`PREPARED_BY_DRIVER`
    (``server_side_binding``: psycopg prepares it) or :data:`NOT_PREPARED`
    (another database, PgBouncer in transaction mode, or turned off)."""
    if connection.vendor != "postgresql":
        return NOT_PREPARED
    settings_dict = connection.settings_dict
    if not apikeys_settings.PREPARE_KEY_LOOKUP or settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return NOT_PREPARED
    if (settings_dict.get("OPTIONS") or {}).get("server_side_binding"):
        return PREPARED_BY_DRIVER
    if getattr(getattr(connection, "Database", None), "__name__", "") != "psycopg":  # psycopg2
        return NOT_PREPARED
    return PREPARED_BY_APP


#: Per open database connection (the driver's object): statement -> the name it
#: is prepared under, or the number of failed attempts. A new connection
#: (reconnect, pool) starts empty.
_prepared: weakref.WeakKeyDictionary[Any, dict[str, str | int]] = weakref.WeakKeyDictionary()

#: Compiled lookups per connection (one per thread) and variant; ``None``
#: where compiling failed and the plain queryset does the work.
_lookups: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[Any, CompiledLookup | None]] = (
    weakref.WeakKeyDictionary()
)
_failures_logged: set[Any] = set()


def lookup_for(
    connection: BaseDatabaseWrapper, variant: Any, queryset: Callable[[], models.QuerySet[Any]]
) -> CompiledLookup | None:
    """The compiled lookup of ``variant`` on ``connection``, compiling
    ``queryset()`` on first use; ``None`` if it cannot be compiled."""
    compiled = _lookups.setdefault(connection, {})
    if variant not in compiled:
        try:
            compiled[variant] = CompiledLookup(queryset(), connection)
        except Exception:  # noqa: BLE001 - any change in Django's internals: fall back
            compiled[variant] = None
            if variant not in _failures_logged:
                _failures_logged.add(variant)
                logger.warning(
                    "The key lookup could not be compiled once (%r); using the plain "
                    "queryset for every lookup instead.",
                    variant,
                    exc_info=True,
                )
    return compiled[variant]
