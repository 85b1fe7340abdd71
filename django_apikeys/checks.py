"""System checks (``manage.py check``). Every id has a test."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Info, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import CommandError
from django.utils.module_loading import import_string
from rest_framework.authentication import BaseAuthentication

from . import _compiled_lookup
from .conf import apikeys_settings
from .management.commands.sendexpiryreminders import thresholds
from .scopes import normalize_scopes
from .services.leaks import ACTIONS
from .services.organizations import check_settings as check_organization_settings
from .services.playground import playground_key_type

AUTH_CLASS = "django_apikeys.authentication.APIKeyAuthentication"
HANDLER = "django_apikeys.exceptions.exception_handler"
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
    if rf.get("EXCEPTION_HANDLER") != HANDLER:
        errors.append(
            Warning(
                "REST_FRAMEWORK['EXCEPTION_HANDLER'] is not django-apikeys' handler.",
                hint=f"Set it to {HANDLER!r} so errors carry their stable 'code' and 'type'.",
                id="django_apikeys.W003",
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
    return errors


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


@register(Tags.database, "django_apikeys")
def check_key_lookup(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """I001: on PostgreSQL, whether the key lookup is a prepared statement
    (docs/performance.rst); reads settings only, never connects."""
    from django.db import connections, router

    from .models import APIKey

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
    from django_ratelimit.core import _split_rate

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
            count, period = _split_rate(getattr(conf, name))
            if count < 1 or period < 1:
                raise ValueError
        except (ValueError, TypeError, AttributeError, KeyError):
            problems.append(f"APIKEYS[{name!r}] is not a rate such as '5/h'.")
    return [
        Error(
            problem,
            hint="See the playground section of the django-apikeys settings reference.",
            id="django_apikeys.E003",
        )
        for problem in problems
    ]
