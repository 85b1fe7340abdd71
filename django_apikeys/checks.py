"""System checks (``manage.py check``). Every id has a test."""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings
from django.core.checks import Error, Info, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import CommandError
from django.db import connections, router
from django.utils.module_loading import import_string
from rest_framework.authentication import BaseAuthentication

from . import _compiled_lookup, exceptions
from .authentication import APIKeyAuthentication
from .conf import apikeys_settings
from .debug import APIKeyExceptionReporterFilter
from .management.commands.sendexpiryreminders import thresholds
from .models import APIKey
from .scopes import normalize_scopes
from .services.leaks import ACTIONS
from .services.organizations import check_settings as check_organization_settings
from .services.playground import playground_key_type
from .throttling import anchor_day, parse_rate

AUTH_CLASS = "django_apikeys.authentication.APIKeyAuthentication"
HANDLER = "django_apikeys.exceptions.exception_handler"
MIDDLEWARE = "django_apikeys.middleware.RateLimitHeadersMiddleware"
REPORTER_FILTER = "django_apikeys.debug.APIKeyExceptionReporterFilter"
NOT_SHARED_BACKENDS = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)


@register(Tags.security, "django_apikeys")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    errors: list[Any] = []
    try:
        apikeys_settings.user_settings  # noqa: B018  (unknown keys raise)
        key_types = apikeys_settings.key_types
        apikeys_settings.parser  # noqa: B018  (validates the separator)
        normalize_scopes(apikeys_settings.SCOPE_VOCABULARY)

        check_organization_settings()
        anchor_day()
    except (ImproperlyConfigured, ValueError, ValidationError) as exc:
        # Nothing else can be checked on settings that do not load.
        return [
            Error(
                f"APIKEYS is misconfigured: {exc}",
                hint="See the settings reference in the django-apikeys docs.",
                id="django_apikeys.E001",
            )
        ]
    errors.extend(_check_playground(apikeys_settings))
    alias = apikeys_settings.CACHE_ALIAS
    caches_setting = getattr(settings, "CACHES", {})
    if alias not in caches_setting:
        errors.append(
            Error(
                f"APIKEYS['CACHE_ALIAS'] is {alias!r}, which is not in CACHES.",
                hint="Name a cache defined in CACHES.",
                id="django_apikeys.E002",
            )
        )
    rf = getattr(settings, "REST_FRAMEWORK", {})
    classes = list(rf.get("DEFAULT_AUTHENTICATION_CLASSES", []))
    if AUTH_CLASS in classes and classes[0] != AUTH_CLASS and not _challenges(classes[0]):
        errors.append(
            Warning(
                "APIKeyAuthentication is not the first DEFAULT_AUTHENTICATION_CLASSES entry, "
                "and the first one sends no WWW-Authenticate challenge.",
                hint="DRF answers 401 only when the first class sends a WWW-Authenticate "
                "challenge; list APIKeyAuthentication first (the exception handler also "
                "restores 401 for its own errors).",
                id="django_apikeys.W002",
            )
        )
    if not _renders_our_errors(rf.get("EXCEPTION_HANDLER")):
        errors.append(
            Warning(
                "REST_FRAMEWORK['EXCEPTION_HANDLER'] does not render django-apikeys' errors.",
                hint=f"Set it to {HANDLER!r}, or call that handler first from your own "
                "(docs/coexistence.rst), so errors carry their stable 'code' and 'type'.",
                id="django_apikeys.W003",
            )
        )
    shadowed, shadowing = _shadowed_bearer_classes(classes)
    if shadowed:
        errors.append(
            Warning(
                "APIKEYS['CLAIM_ALL_BEARER_TOKENS'] is on and APIKeyAuthentication comes "
                f"before {', '.join(shadowed)}, which also reads Bearer tokens: their tokens "
                "are refused as invalid_key before they are tried.",
                hint="Turn CLAIM_ALL_BEARER_TOKENS off (the default), or list those classes "
                "before APIKeyAuthentication.",
                id="django_apikeys.W005",
            )
        )
    if shadowing:
        errors.append(
            Warning(
                f"{', '.join(shadowing)} comes before APIKeyAuthentication and refuses every "
                "Bearer value it cannot verify: API keys sent as 'Authorization: Bearer' "
                "never reach APIKeyAuthentication.",
                hint="List APIKeyAuthentication first (it passes Bearer values without a key "
                "prefix on), or have clients send keys in the X-API-Key header.",
                id="django_apikeys.W005",
            )
        )
    if apikeys_settings.METERING and MIDDLEWARE not in getattr(settings, "MIDDLEWARE", []):
        errors.append(
            Warning(
                "RateLimitHeadersMiddleware is not in MIDDLEWARE: refused requests are not "
                "counted in the usage analytics.",
                hint=f"Add {MIDDLEWARE!r} to MIDDLEWARE, or set APIKEYS['METERING'] to False.",
                id="django_apikeys.W006",
            )
        )
    limits_configured = bool(
        apikeys_settings.DEFAULT_RATE_LIMIT_PER_MINUTE
        or apikeys_settings.DEFAULT_RATE_LIMIT_PER_DAY
        or any(kt.rate_limit_per_minute or kt.rate_limit_per_day for kt in key_types.values())
    )
    ratelimit_alias = getattr(settings, "RATELIMIT_USE_CACHE", "default")
    backend = caches_setting.get(ratelimit_alias, {}).get("BACKEND", "")
    if limits_configured and backend in NOT_SHARED_BACKENDS and not settings.DEBUG:
        errors.append(
            Warning(
                f"Rate limits run on the {ratelimit_alias!r} cache "
                f"({backend.rsplit('.', 1)[-1]}), which processes do not share: "
                "each process counts on its own.",
                hint="Point RATELIMIT_USE_CACHE at a shared cache such as "
                "django.core.cache.backends.redis.RedisCache.",
                id="django_apikeys.W001",
            )
        )
    if apikeys_settings.KEY_CACHE_TIMEOUT:
        key_backend = caches_setting.get(alias, {}).get("BACKEND", "")
        if key_backend in NOT_SHARED_BACKENDS and not settings.DEBUG:
            errors.append(
                Warning(
                    f"The key-lookup cache uses {alias!r} ({key_backend.rsplit('.', 1)[-1]}), "
                    "which processes do not share: a key revoked in one process may keep "
                    "working in another until KEY_CACHE_TIMEOUT passes.",
                    hint="Use a shared cache (Redis) for APIKEYS['CACHE_ALIAS'], or turn the "
                    "lookup cache off.",
                    id="django_apikeys.W004",
                )
            )
    errors.extend(_check_error_reports())
    errors.extend(_check_sqlite())
    return errors


def _check_error_reports() -> list[Any]:
    """W007: a production site (``DEBUG = False``) mails and logs error
    reports; without the app's filter a raw key in a frame or a custom key
    header can end up in them."""
    if settings.DEBUG:
        return []
    configured = getattr(settings, "DEFAULT_EXCEPTION_REPORTER_FILTER", "")
    try:
        klass = import_string(configured) if isinstance(configured, str) else configured
    except ImportError:
        klass = None
    if isinstance(klass, type) and issubclass(klass, APIKeyExceptionReporterFilter):
        return []
    return [
        Warning(
            "DEFAULT_EXCEPTION_REPORTER_FILTER does not hide API keys: error reports "
            "(e-mails to ADMINS, logged tracebacks) can carry a raw key.",
            hint=f"Set DEFAULT_EXCEPTION_REPORTER_FILTER = {REPORTER_FILTER!r} (or a subclass).",
            id="django_apikeys.W007",
        )
    ]


#: What docs/deployment.rst asks of SQLite (Django 5.1+ has ``transaction_mode``).
SQLITE_ENGINE = "django.db.backends.sqlite3"


def _check_sqlite() -> list[Any]:
    """W008: SQLite serving concurrent requests without a busy timeout and
    (Django 5.1+) immediate transactions answers "database is locked" as a 500
    as soon as two requests write."""
    if settings.DEBUG:
        return []
    problems = []
    for alias, database in getattr(settings, "DATABASES", {}).items():
        if database.get("ENGINE") != SQLITE_ENGINE:
            continue
        options = database.get("OPTIONS") or {}
        missing = [] if options.get("timeout") else ["'timeout'"]
        if django.VERSION >= (5, 1) and str(options.get("transaction_mode", "")).upper() != (
            "IMMEDIATE"
        ):
            missing.append("'transaction_mode': 'IMMEDIATE'")
        if missing:
            problems.append(
                Warning(
                    f"DATABASES[{alias!r}] is SQLite without {' and '.join(missing)} in "
                    'OPTIONS: concurrent writes fail with "database is locked" (a 500).',
                    hint="Set OPTIONS {'transaction_mode': 'IMMEDIATE', 'timeout': 20, "
                    "'init_command': 'PRAGMA journal_mode=WAL;'} (see the deployment docs), "
                    "or use PostgreSQL.",
                    id="django_apikeys.W008",
                )
            )
    return problems


@register(Tags.security, "django_apikeys")
def check_leak_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """The settings of the leak features (docs/leaks.rst): E004, E005."""
    try:
        conf = apikeys_settings
        invalid = []
        num_proxies = conf.NUM_PROXIES
        if num_proxies is not None and (
            not isinstance(num_proxies, int) or isinstance(num_proxies, bool) or num_proxies < 0
        ):
            invalid.append(f"NUM_PROXIES must be None or a whole number >= 0, not {num_proxies!r}")
        if conf.SECRET_SCANNING_ACTION not in ACTIONS:
            invalid.append(f"SECRET_SCANNING_ACTION must be one of {', '.join(ACTIONS)}")
        try:
            thresholds()
        except CommandError:
            invalid.append("EXPIRY_REMINDER_DAYS must be a list of positive whole numbers")
        verifiers = conf.SECRET_SCANNING_VERIFIERS
    except ImproperlyConfigured:
        return []  # E001 says why
    errors: list[Any] = []
    if invalid:
        errors.append(
            Error(
                "APIKEYS: " + "; ".join(invalid) + ".",
                hint="See 'When a key leaks' in the django-apikeys docs.",
                id="django_apikeys.E005",
            )
        )
    if conf.SECRET_SCANNING_ENABLED:
        if not isinstance(verifiers, dict):
            verifiers = {"?": verifiers}
        for name, target in verifiers.items():
            try:
                if isinstance(target, str):
                    import_string(target)
            except ImportError as exc:
                errors.append(
                    Error(
                        f"Secret-scanning verifier {name!r} cannot be loaded: {exc}",
                        hint="pip install 'django-apikeys[scanning]' (for the GitHub "
                        "verifier), or fix APIKEYS['SECRET_SCANNING_VERIFIERS'].",
                        id="django_apikeys.E004",
                    )
                )
    return errors


def _renders_our_errors(dotted_path: Any) -> bool:
    """W003: whether the configured handler renders this app's errors: it is
    this app's handler, or a site's handler that calls it (checked by asking
    it for the answer to an ``invalid_key`` refusal, as a request would)."""
    if dotted_path == HANDLER:
        return True
    if not isinstance(dotted_path, str):
        return False
    try:
        handler = import_string(dotted_path)
        response = handler(exceptions.InvalidKey(), {"request": None, "view": None})
    except Exception:  # a handler that cannot answer without a real request
        return False
    data = getattr(response, "data", None)
    return (
        isinstance(data, dict)
        and data.get("code") == exceptions.InvalidKey.default_code
        and str(response.get("WWW-Authenticate", "")).startswith("Bearer")
    )


def _shadowed_bearer_classes(classes: list[Any]) -> tuple[list[str], list[str]]:
    """W005: (the Bearer classes listed after ``APIKeyAuthentication`` while it
    claims every Bearer value, the classes listed before it that refuse every
    Bearer value they cannot verify)."""
    names = [c if isinstance(c, str) else f"{c.__module__}.{c.__qualname__}" for c in classes]
    ours = [i for i, name in enumerate(names) if _is_key_class(name)]
    if not ours:
        return [], []
    shadowed = []
    if apikeys_settings.CLAIM_ALL_BEARER_TOKENS:
        for name in names[ours[0] + 1 :]:
            try:
                klass = import_string(name)
                challenge = klass().authenticate_header(None)
            except Exception:  # a class that needs a request to say: not judged
                continue
            if not exceptions.is_ours(klass) and str(challenge or "").lower().startswith("bearer"):
                shadowed.append(name)
    shadowing = [name for name in names[: ours[0]] if _claims_every_bearer_value(name)]
    return shadowed, shadowing


def _claims_every_bearer_value(dotted_path: str) -> bool:
    """djangorestframework-simplejwt's ``JWTAuthentication`` (and subclasses)
    answers 401 for any value under its header types, ``Bearer`` by default.
    django-oauth-toolkit's class passes unknown tokens on: not listed."""
    try:
        from rest_framework_simplejwt.authentication import (  # an optional package
            AUTH_HEADER_TYPES,
            JWTAuthentication,
        )

        klass = import_string(dotted_path)
    except ImportError:
        return False
    schemes = {str(scheme).lower() for scheme in AUTH_HEADER_TYPES}
    return (
        isinstance(klass, type)
        and issubclass(klass, JWTAuthentication)
        and bool(schemes & set(apikeys_settings.authorization_schemes))
    )


def _is_key_class(dotted_path: str) -> bool:
    try:
        klass = import_string(dotted_path)
    except ImportError:
        return False
    return isinstance(klass, type) and issubclass(klass, APIKeyAuthentication)


@register(Tags.database, "django_apikeys")
def check_key_lookup(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """I001: on PostgreSQL, whether the key lookup is a prepared statement
    (docs/performance.rst); reads settings only, never connects."""
    try:
        alias = router.db_for_read(APIKey)
        connection = connections[alias]
        mode = _compiled_lookup.prepare_mode(connection)
    except ImproperlyConfigured:
        return []  # E001 says why
    if connection.vendor != "postgresql":
        return []
    hint = {
        _compiled_lookup.PREPARED_BY_APP: "Prepared once per connection with SQL PREPARE.",
        _compiled_lookup.PREPARED_BY_DRIVER: "psycopg prepares it (its prepare_threshold).",
        _compiled_lookup.NOT_PREPARED: "PostgreSQL parses and plans it on every request: "
        "DISABLE_SERVER_SIDE_CURSORS (PgBouncer in transaction mode) or "
        "APIKEYS['PREPARE_KEY_LOOKUP'] = False. See 'Performance' in the docs.",
    }[mode]
    return [
        Info(
            f"The key lookup on database {alias!r} is {mode}.",
            hint=hint,
            id="django_apikeys.I001",
        )
    ]


def _challenges(dotted_path: str) -> bool:
    """True if the authentication class answers 401 with a challenge (it
    overrides ``authenticate_header``), as ``OAuthTokenAuthentication`` does."""
    try:
        klass = import_string(dotted_path)
    except ImportError:
        return False
    return (
        getattr(klass, "authenticate_header", None) is not BaseAuthentication.authenticate_header
    )


def _check_playground(conf: Any) -> list[Any]:
    """E003: the playground must issue a read-only key type with a lifetime
    quota, and its rates must be django-ratelimit rates."""
    if not conf.PLAYGROUND_KEY_TYPE:
        return []
    problems = []
    try:
        playground_key_type()
    except ImproperlyConfigured as exc:
        problems.append(str(exc))
    for name in (
        "PLAYGROUND_RATE",
        "PLAYGROUND_IP_RATE",
        "PLAYGROUND_FINGERPRINT_RATE",
        "PLAYGROUND_GLOBAL_RATE",
    ):
        try:
            parse_rate(getattr(conf, name))
        except ValueError:
            problems.append(f"APIKEYS[{name!r}] is not a rate such as '5/h'.")
    prefix = conf.PLAYGROUND_IPV6_PREFIX
    if isinstance(prefix, bool) or not isinstance(prefix, int) or not 0 < prefix <= 128:
        problems.append("APIKEYS['PLAYGROUND_IPV6_PREFIX'] is not a prefix length from 1 to 128.")
    return [
        Error(
            problem,
            hint="See the playground section of the django-apikeys settings reference.",
            id="django_apikeys.E003",
        )
        for problem in problems
    ]
