"""The ``check_request_enabled`` receiver: CORS for routes that take browser keys.

django-cors-headers asks its ``check_request_enabled`` signal whether a
cross-origin request (the pre-flight ``OPTIONS`` and the actual request) may
have CORS headers when the origin is not in the site's own
``CORS_ALLOWED_ORIGINS``. :func:`cors_allow_browser_keys` answers ``True``
when both hold:

* the route accepts publishable keys: its view is a DRF view that
  authenticates with :class:`~django_apikeys.authentication.APIKeyAuthentication`
  (or a subclass) and whose ``allowed_key_types`` names a publishable key type;
* the origin is listed in ``allowed_origins`` by some active key of a
  publishable type (keys without ``allowed_origins`` open nothing).

It only lets the browser send the request: the key in that request is then
checked against *its own* ``allowed_origins`` by the authentication class
(403 ``origin_not_allowed``), as without this integration.

Cost: the set of such origins is one query per key model, kept in the
``APIKEYS["CACHE_ALIAS"]`` cache for :data:`ORIGINS_TIMEOUT` seconds and
dropped when a publishable key is saved, revoked or deleted (on commit); a request
costs one cache read (the route's answer is kept per process). Under ASGI django-cors-headers
sends the signal from the event loop, where Django refuses queries: a cache
miss there loads the set in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.cache import caches
from django.core.signals import setting_changed
from django.db import connections, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import Resolver404, resolve

from ..authentication import APIKeyAuthentication
from ..conf import apikeys_settings
from ..models import key_models
from ..origins import normalize_origin
from ..signals import api_key_revoked

logger = logging.getLogger("django_apikeys")

ORIGINS_CACHE_KEY = "apikeys:cors:origins"
#: Seconds a process may use the cached origin set; a saved or deleted
#: publishable key drops it sooner (with a shared cache, in every process).
ORIGINS_TIMEOUT = 60


def publishable_types() -> list[str]:
    """Names of the configured key types with ``publishable: True``."""
    return [kt.name for kt in apikeys_settings.key_types.values() if kt.publishable]


def load_browser_origins() -> frozenset[str]:
    """Every origin listed by an active key of a publishable type (one query
    per key model; no cache)."""
    types = publishable_types()
    origins: set[str] = set()
    if not types:
        return frozenset()
    for model in key_models():
        rows = (
            model._default_manager.active()
            .filter(key_type__in=types)
            .values_list("allowed_origins", flat=True)
        )
        for allowed in rows:
            if isinstance(allowed, list):
                origins.update(origin for origin in allowed if isinstance(origin, str))
    return frozenset(origins)


def _load_in_worker() -> frozenset[str]:
    try:
        return load_browser_origins()
    finally:
        connections.close_all()  # this thread's connections only; it ends now


def _load() -> frozenset[str]:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return load_browser_origins()
    # In the event loop's thread (ASGI) Django raises SynchronousOnlyOperation
    # for a query; the signal is synchronous, so wait for a worker thread.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="apikeys-cors") as pool:
        return pool.submit(_load_in_worker).result()


def browser_origins() -> frozenset[str]:
    """The origins of :func:`load_browser_origins`, cached (see the module)."""
    cache = caches[apikeys_settings.CACHE_ALIAS]
    try:
        cached = cache.get(ORIGINS_CACHE_KEY)
    except Exception:  # noqa: BLE001 - a cache outage must not fail the request
        logger.warning("CORS origins: the cache is unavailable; reading the database.")
        return _load()
    if isinstance(cached, frozenset):
        return cached
    origins = _load()
    try:
        cache.set(ORIGINS_CACHE_KEY, origins, ORIGINS_TIMEOUT)
    except Exception:  # noqa: BLE001
        logger.warning("CORS origins: the cache is unavailable; not cached.")
    return origins


def forget_browser_origins() -> None:
    """Drop the cached origin set (the next cross-origin request reloads it)."""
    try:
        caches[apikeys_settings.CACHE_ALIAS].delete(ORIGINS_CACHE_KEY)
    except Exception:  # noqa: BLE001 - it expires after ORIGINS_TIMEOUT anyway
        logger.warning("CORS origins: the cache is unavailable; the set expires on its own.")


def route_accepts_browser_keys(request: HttpRequest) -> bool:
    """Whether the request's route is a DRF view that authenticates with the
    app's keys and lists a publishable key type in ``allowed_key_types``.

    Decided once per URL conf and path in each process (the answer depends
    only on code and settings; any setting change forgets it): resolving a
    URL costs more than the rest of the check."""
    return _route_accepts(getattr(request, "urlconf", None), request.path_info)


@functools.lru_cache(maxsize=1024)
def _route_accepts(urlconf: Any, path: str) -> bool:
    types = publishable_types()
    if not types:
        return False
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return False
    view_class = getattr(match.func, "cls", None)  # set by DRF's as_view()
    if view_class is None:
        return False
    try:
        view = view_class(**getattr(match.func, "initkwargs", {}))
        view.args, view.kwargs = match.args, match.kwargs
        authenticators = list(view.authentication_classes)
        allowed = getattr(view, "allowed_key_types", None)
    except Exception:  # noqa: BLE001 - a site's view that cannot say is not ours to open
        return False
    if not any(
        isinstance(cls, type) and issubclass(cls, APIKeyAuthentication) for cls in authenticators
    ):
        return False
    return allowed is not None and any(name in allowed for name in types)


@receiver(setting_changed, dispatch_uid="apikeys_cors_routes")
def _forget_routes(**kwargs: Any) -> None:
    _route_accepts.cache_clear()


def cors_allow_browser_keys(sender: Any, request: HttpRequest, **kwargs: Any) -> bool:
    """django-cors-headers' ``check_request_enabled`` receiver (module docstring)."""
    origin = normalize_origin(request.headers.get("origin") or "")
    if origin is None or not route_accepts_browser_keys(request):
        return False
    return origin in browser_origins()


def key_saved_or_deleted(
    sender: Any, instance: Any, using: str = "default", **kwargs: Any
) -> None:
    kt = apikeys_settings.key_type(instance.key_type)
    if kt is not None and kt.publishable:
        transaction.on_commit(forget_browser_origins, using=using)


def key_revoked(sender: Any, api_key: Any, **kwargs: Any) -> None:
    """``api_key_revoked`` (sent on commit): revocation is a queryset update,
    which sends no ``post_save``."""
    kt = apikeys_settings.key_type(api_key.key_type)
    if kt is not None and kt.publishable:
        forget_browser_origins()


def connect_key_models() -> None:
    """Connect :func:`key_saved_or_deleted` to every installed key model, and
    :func:`key_revoked` to ``api_key_revoked``."""
    api_key_revoked.connect(key_revoked, dispatch_uid="apikeys_cors_origins_revoked")
    for model in key_models():
        uid = f"apikeys_cors_origins:{model._meta.label_lower}"
        post_save.connect(key_saved_or_deleted, sender=model, dispatch_uid=uid)
        post_delete.connect(key_saved_or_deleted, sender=model, dispatch_uid=uid)
