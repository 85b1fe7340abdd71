"""An in-process tier in front of the key-lookup cache, kept right by Redis.

Relies on **Redis' server-assisted client-side caching** (``CLIENT TRACKING``,
Redis 6 or later) and on redis-py's ``Connection`` (its parser and socket
handling), driven directly rather than through redis-py's own client-side
cache (which needs Redis 7.4).

Each process opens one extra connection to the cache's Redis and turns on
tracking in broadcast mode for the lookup cache's keys, redirected to that
same connection, which is then subscribed to ``__redis__:invalidate``::

    CLIENT ID                                   -> n
    CLIENT TRACKING on REDIRECT n BCAST PREFIX <entries> PREFIX <generation>
    SUBSCRIBE __redis__:invalidate

From then on Redis pushes the name of every lookup-cache key any client
writes, deletes, or lets expire (a tombstone after a revocation, the
generation after a role change, a flush: ``None``). Before an entry is served
from memory, :meth:`Tier.sync` reads what has already arrived (a
non-blocking read, no round trip) and drops what it names; so when a change
committed and invalidated the shared cache before the next request began,
that request does not see the old entry, in any process.

Tracking and delivery share one connection on purpose: if it breaks (Redis
killed, restarted from a snapshot, the connection dropped by a proxy or
``timeout``), the next read fails, the tier empties and stays off until a
new connection tracks again. It never holds an entry it could not hear about.
An invalidation that never reached Redis (Redis down at commit) is covered as
in the shared cache: entries are kept under the outbox mark they were read
with (:mod:`django_apikeys.cache`), which moves within a second of any change.

A half-open connection (the Redis host vanished without closing it) delivers
nothing and reports no error: the outbox mark is then the bound, as above.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any

logger = logging.getLogger("django_apikeys")

INVALIDATE_CHANNEL = "__redis__:invalidate"
#: Seconds between two attempts to open the tracking connection after a failure.
RECONNECT_INTERVAL = 5.0


class Tier:
    """A bounded LRU map ``hashed key -> (mark, deadline, value)`` for one Redis
    server and key prefix, valid only while its tracking connection is."""

    def __init__(
        self, pool: Any, entry_prefix: str, generation_key: str, max_entries: int
    ) -> None:
        self.pool = pool
        self.entry_prefix = entry_prefix
        self.generation_key = generation_key
        self.max_entries = max_entries
        self.entries: OrderedDict[str, tuple[str, float, Any]] = OrderedDict()
        self.lock = threading.Lock()
        self.connection: Any = None
        self.pid = os.getpid()
        #: Moves on every invalidation read and every (re)connection: a value read
        #: from Redis is kept only if nothing was invalidated since the read began.
        self.epoch = 0
        self.retry_at = float("-inf")
        self.unsupported_logged = False

    # -- the tracking connection ---------------------------------------------

    def _connect(self) -> None:
        # The pool's own options (address, credentials, TLS, timeouts), in RESP2
        # (pushes then come as pub/sub messages), without redis-py's handlers
        # of maintenance notifications, which need RESP3 and would not apply.
        kwargs = {
            name: value
            for name, value in self.pool.connection_kwargs.items()
            if "maint_notifications" not in name
        }
        kwargs["protocol"] = 2
        connection = self.pool.connection_class(**kwargs)
        try:
            connection.connect()
            connection.send_command("CLIENT", "ID")
            client_id = connection.read_response()
            connection.send_command(
                "CLIENT", "TRACKING", "on", "REDIRECT", client_id, "BCAST",
                "PREFIX", self.entry_prefix, "PREFIX", self.generation_key,
            )  # fmt: skip
            connection.read_response()
            connection.send_command("SUBSCRIBE", INVALIDATE_CHANNEL)
            connection.read_response()
        except Exception:
            connection.disconnect()
            raise
        self.connection = connection

    def _drop_connection(self) -> None:
        connection, self.connection = self.connection, None
        self.entries.clear()
        self.epoch += 1
        self.retry_at = time.monotonic() + RECONNECT_INTERVAL
        if connection is not None:
            try:
                connection.disconnect()
            except Exception:  # noqa: BLE001 - already broken
                pass

    def sync(self) -> int | None:
        """Apply the invalidations Redis has already delivered (no round trip)
        and return the current epoch; ``None`` when the tier cannot be trusted
        now (no tracking connection): read the shared cache instead."""
        with self.lock:
            if self.pid != os.getpid():  # forked: the parent's socket is not ours
                self.pid, self.connection = os.getpid(), None
                self.entries.clear()
                self.epoch += 1
                self.retry_at = float("-inf")
            if self.connection is None:
                if time.monotonic() < self.retry_at:
                    return None
                try:
                    self._connect()
                except Exception:
                    self._drop_connection()
                    if not self.unsupported_logged:
                        self.unsupported_logged = True
                        logger.warning(
                            "The in-process key-lookup tier is off: Redis key tracking "
                            "(CLIENT TRACKING, Redis 6+) is unavailable; retrying every "
                            "%s s.",
                            RECONNECT_INTERVAL,
                            exc_info=True,
                        )
                    return None
                self.epoch += 1  # nothing read before tracking began may be kept
            try:
                while self.connection.can_read(timeout=0):
                    self._apply(self.connection.read_response())
            except Exception:  # closed, reset, restarted: we may have missed pushes
                self._drop_connection()
                return None
            return self.epoch

    def _apply(self, message: Any) -> None:
        if not (isinstance(message, list) and len(message) == 3 and message[0] == b"message"):
            return  # subscription confirmations and the like
        self.epoch += 1
        names = message[2]
        if names is None:  # FLUSHDB / FLUSHALL
            self.entries.clear()
            return
        for raw in names:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            if name == self.generation_key:
                self.entries.clear()
                return
            if name.startswith(self.entry_prefix):
                # <prefix><format>:<generation>:<mark>:<hashed key>, any format:
                # another version's tombstone names the same key.
                parts = name[len(self.entry_prefix) :].split(":", 3)
                if len(parts) == 4:
                    self.entries.pop(parts[3], None)

    # -- the entries ------------------------------------------------------------

    def get(self, hashed_key: str, mark: str) -> Any:
        """The value kept for ``hashed_key`` under ``mark``, or ``None``.
        Call :meth:`sync` first (and only when it returned an epoch)."""
        with self.lock:
            found = self.entries.get(hashed_key)
            if found is None:
                return None
            if found[0] != mark or found[1] <= time.monotonic():
                del self.entries[hashed_key]
                return None
            self.entries.move_to_end(hashed_key)
            return found[2]

    def put(self, hashed_key: str, mark: str, value: Any, epoch: int, timeout: float) -> None:
        """Keep ``value``, read from Redis after :meth:`sync` returned ``epoch``,
        unless an invalidation (or a reconnection) was read since: it might be
        the one for this value."""
        with self.lock:
            if self.epoch != epoch or self.connection is None or self.pid != os.getpid():
                return
            self.entries[hashed_key] = (mark, time.monotonic() + timeout, value)
            self.entries.move_to_end(hashed_key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)

    def close(self) -> None:
        with self.lock:
            if self.pid == os.getpid():
                self._drop_connection()
