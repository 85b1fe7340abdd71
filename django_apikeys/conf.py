"""The one settings object, ``apikeys_settings``, read from ``settings.APIKEYS``.

Modelled on ``rest_framework.settings``: defaults below, every key optional,
unknown keys raise ``ImproperlyConfigured``, values are read lazily (never at
import time) and the object reloads in place on ``setting_changed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from . import keys
from .scopes import normalize_scopes

OWNER_ORGANIZATION = "organization"
OWNER_USER = "user"

#: How a key relates to organizations (a key type's ``tenancy``): ``pinned``
#: keys act in the organization they were created in; ``member`` user keys
#: act in any organization their owner belongs to, bounded by the owner's
#: role there.
TENANCY_PINNED = "pinned"
TENANCY_MEMBER = "member"
#: ``organization_permissions`` value meaning every organization permission.
ALL_PERMISSIONS = "*"

DEFAULTS: dict[str, Any] = {
    # Key types by name. Each: prefix, owner ("organization" | "user"),
    # publishable, read_only, scopes (the most it may ever carry),
    # default_scopes, rate limits (0 = the global default), lifetime_quota
    # (None = unlimited) and a label for the dashboard.
    "KEY_TYPES": {
        "server": {"prefix": "sk", "owner": OWNER_ORGANIZATION, "label": "Server"},
        "user": {"prefix": "uk", "owner": OWNER_USER, "label": "User"},
        "publishable": {
            "prefix": "pk",
            "owner": OWNER_ORGANIZATION,
            "publishable": True,
            "label": "Publishable",
            # Safe in a browser only with narrow scopes: none unless asked for.
            "default_scopes": [],
            "rate_limit_per_minute": 60,
            "rate_limit_per_day": 10_000,
        },
    },
    "SEPARATOR": "_",
    "BODY_LENGTH": keys.BODY_LENGTH,
    # Where keys are read from, in order of preference.
    "AUTHORIZATION_SCHEMES": ["Bearer"],
    "KEY_HEADERS": ["X-API-Key"],
    # False: a Bearer value without one of the configured prefixes is not
    # ours (another class's JWT or OAuth token). True: every Bearer value is
    # taken for a key and a foreign one is answered 401 invalid_key.
    "CLAIM_ALL_BEARER_TOKENS": False,
    "QUERY_PARAM": "api_key",
    "ALLOW_KEY_IN_QUERY": False,
    # When a key in the query string is accepted: the response header that
    # tells the client to move it to a header ("" = none; a warning is logged
    # either way, with the key's hint only).
    "QUERY_KEY_WARNING_HEADER": "X-API-Key-Warning",
    # Tenancy.
    "ORGANIZATION_HEADER": "X-Organization",
    "REQUIRE_ORGANIZATION_HEADER": False,
    "URL_ORGANIZATION_KWARGS": ["org_id", "organization_id", "org_slug"],
    # Scope grammar: words accepted as the action in "action:resource".
    "SCOPE_ACTIONS": ["read", "write", "create", "update", "delete", "list", "manage"],
    # The API's scopes, offered in the dashboard's scope grid (with those
    # named by key types and roles), e.g. ["clients:read", "clients:write"].
    "SCOPE_VOCABULARY": [],
    # Rate limits (0 = unlimited), enforced by throttling.APIKeyRateThrottle.
    "DEFAULT_RATE_LIMIT_PER_MINUTE": 0,
    "DEFAULT_RATE_LIMIT_PER_DAY": 0,
    "DEFAULT_RATE_LIMIT_PER_MONTH": 0,
    # Monthly limits count per calendar month starting on this day (1-28, UTC).
    "MONTHLY_QUOTA_ANCHOR_DAY": 1,
    # Cache used for the key-lookup cache, last_used throttling and metering.
    "CACHE_ALIAS": "default",
    "KEY_CACHE_TIMEOUT": 0,  # seconds; 0 = key-lookup cache off
    # Lookups kept in memory per process in front of a Redis lookup cache,
    # invalidated by Redis key tracking (LRU); 0 = every lookup asks Redis.
    "KEY_CACHE_LOCAL_ENTRIES": 2_000,
    # PostgreSQL: prepare the key lookup once per database connection (SQL
    # PREPARE); off by itself with DISABLE_SERVER_SIDE_CURSORS (PgBouncer).
    "PREPARE_KEY_LOOKUP": True,
    "METERING": True,
    "LAST_USED_INTERVAL": 60,  # seconds between last_used writes per key
    "ROLL_GRACE_PERIOD": 24 * 60 * 60,  # seconds the old key keeps working
    # Days a new key lives when its creator names no expiry (the dashboard's
    # default too); None = keys never expire unless asked to.
    "DEFAULT_KEY_EXPIRY_DAYS": 90,
    # Environment labels keys may carry, e.g. ["development", "staging",
    # "production"]; empty = no labels.
    "ENVIRONMENTS": [],
    # The anonymous playground endpoint (django_apikeys.playground): the key
    # type it issues (read-only, with a lifetime quota), None = off.
    "PLAYGROUND_KEY_TYPE": None,
    "PLAYGROUND_ORGANIZATION": "playground",  # slug, created on first use
    "PLAYGROUND_RATE": "1/10m",  # keys per fingerprint + IP (django-ratelimit rate)
    "PLAYGROUND_IP_RATE": "5/h",  # keys per IP, whatever the fingerprint
    "PLAYGROUND_FINGERPRINT_RATE": "10/h",  # keys per fingerprint, whatever the IP
    "PLAYGROUND_GLOBAL_RATE": "1000/h",  # keys for everyone together
    "PLAYGROUND_IPV6_PREFIX": 64,  # IPv6 addresses counted per this network prefix
    "DEFAULT_ROLE": "Editor",
    "OWNER_ROLE": "Owner",
    "WWW_AUTHENTICATE_REALM": "api",
    "PRINCIPAL_CLASS": "django_apikeys.authentication.APIKeyPrincipal",
    # When a key leaks (docs/leaks.rst).
    # Reverse proxies in front of the site that append to X-Forwarded-For, as
    # DRF's NUM_PROXIES: None = use REMOTE_ADDR and ignore the header.
    "NUM_PROXIES": None,
    # The secret-scanning receiver (off until enabled): which scanners may
    # report leaks (URL name -> verifier class), and what a report does:
    # "revoke" the key, or only "flag" it (audit, signal, e-mail).
    "SECRET_SCANNING_ENABLED": False,
    "SECRET_SCANNING_ACTION": "revoke",
    "SECRET_SCANNING_VERIFIERS": {
        "github": "django_apikeys.scanning.github.GitHubVerifier",
    },
    "GITHUB_PUBLIC_KEYS_URL": "https://api.github.com/meta/public_keys/secret_scanning",
    "SECRET_SCANNING_FETCH_TIMEOUT": 5.0,  # seconds to fetch a scanner's public keys
    "SECRET_SCANNING_KEYS_CACHE_TIMEOUT": 24 * 60 * 60,  # seconds they stay cached
    # Days before expiry at which the sendexpiryreminders command writes.
    "EXPIRY_REMINDER_DAYS": [7, 1],
    # Sender of the app's e-mails; None = settings.DEFAULT_FROM_EMAIL.
    "FROM_EMAIL": None,
    # Organizations people run themselves (docs/organizations.rst).
    # Who may create one in the dashboard: "all" signed-in users, "staff",
    # or a callable (or its import path) taking the user and returning a bool.
    "ORGANIZATION_CREATION": "all",
    # Slugs nobody may take (compared lowercased), besides the app's own URL words.
    "RESERVED_SLUGS": [
        "admin",
        "api",
        "apikeys",
        "dashboard",
        "help",
        "invitations",
        "login",
        "logout",
        "new",
        "settings",
        "signup",
        "static",
        "support",
        "www",
    ],
    "INVITATION_EXPIRY": 7 * 24 * 60 * 60,  # seconds an invitation link stays valid
    # Invitation POSTs (send, resend) per user, django-ratelimit rate syntax.
    "INVITATION_RATE": "20/h",
    # Where a visitor following an invitation link signs in or signs up
    # (``next`` brings them back); None: settings.LOGIN_URL.
    "INVITATION_LOGIN_URL": None,
    # Scheme and host invitation links point to, e.g. "https://example.com";
    # None: the request's, only if ALLOWED_HOSTS names that host literally.
    "SITE_URL": None,
    # Seconds a deleted organization is kept (keys refused, audit log kept)
    # before ``manage.py purgeorganizations`` removes it.
    "ORGANIZATION_RETENTION": 30 * 24 * 60 * 60,
}

IMPORT_STRINGS = {"PRINCIPAL_CLASS"}

KEY_TYPE_DEFAULTS: dict[str, Any] = {
    "owner": OWNER_ORGANIZATION,
    "publishable": False,
    "read_only": False,
    "scopes": ["*"],
    # None: no default, a key's creator names its scopes (never an implicit "*").
    "default_scopes": None,
    "rate_limit_per_minute": 0,
    "rate_limit_per_day": 0,
    "rate_limit_per_month": 0,
    "lifetime_quota": None,
    "label": None,
    "description": "",
    "tenancy": TENANCY_PINNED,
    # Organization keys only: the role (by name) whose organization
    # permissions the key holds for HasOrganizationPermission, "*" for all;
    # None = none (the key is bounded by its scopes alone).
    "organization_permissions": None,
}


@dataclass(frozen=True)
class KeyType:
    """One configured key type (see ``APIKEYS["KEY_TYPES"]``)."""

    name: str
    prefix: str
    owner: str = OWNER_ORGANIZATION
    publishable: bool = False
    read_only: bool = False
    scopes: tuple[str, ...] = ("*",)
    #: What a key gets when its creator names no scopes; ``None``: the creator must.
    default_scopes: tuple[str, ...] | None = None
    rate_limit_per_minute: int = 0
    rate_limit_per_day: int = 0
    rate_limit_per_month: int = 0
    lifetime_quota: int | None = None
    label: str = ""
    description: str = ""
    tenancy: str = TENANCY_PINNED
    organization_permissions: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def user_owned(self) -> bool:
        return self.owner == OWNER_USER

    @property
    def member_scoped(self) -> bool:
        """A user key that acts in any organization of its owner's."""
        return self.tenancy == TENANCY_MEMBER


def _build_key_types(raw: Any) -> dict[str, KeyType]:
    if not isinstance(raw, dict) or not raw:
        raise ImproperlyConfigured("APIKEYS['KEY_TYPES'] must be a non-empty dict.")
    types: dict[str, KeyType] = {}
    prefixes: dict[str, str] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not spec.get("prefix"):
            raise ImproperlyConfigured(f"APIKEYS key type {name!r} needs a 'prefix'.")
        unknown = set(spec) - set(KEY_TYPE_DEFAULTS) - {"prefix"}
        if unknown:
            raise ImproperlyConfigured(
                f"APIKEYS key type {name!r} has unknown options: {', '.join(sorted(unknown))}."
            )
        merged = {**KEY_TYPE_DEFAULTS, **spec}
        if merged["owner"] not in (OWNER_ORGANIZATION, OWNER_USER):
            raise ImproperlyConfigured(
                f"APIKEYS key type {name!r}: owner must be 'organization' or 'user'."
            )
        if merged["tenancy"] not in (TENANCY_PINNED, TENANCY_MEMBER):
            raise ImproperlyConfigured(
                f"APIKEYS key type {name!r}: tenancy must be 'pinned' or 'member'."
            )
        if merged["tenancy"] == TENANCY_MEMBER and merged["owner"] != OWNER_USER:
            raise ImproperlyConfigured(
                f"APIKEYS key type {name!r}: only user keys can be member-scoped "
                "(an organization key has no owner whose memberships could bound it)."
            )
        org_permissions = merged["organization_permissions"]
        if org_permissions is not None and (
            not isinstance(org_permissions, str) or not org_permissions
        ):
            raise ImproperlyConfigured(
                f"APIKEYS key type {name!r}: organization_permissions must be a role name or '*'."
            )
        if org_permissions is not None and merged["owner"] != OWNER_ORGANIZATION:
            raise ImproperlyConfigured(
                f"APIKEYS key type {name!r}: organization_permissions is for organization "
                "keys (a user key holds its owner's role)."
            )
        prefix = merged["prefix"]
        if not keys.valid_prefix(prefix):
            raise ImproperlyConfigured(
                f"APIKEYS key type {name!r}: prefix {prefix!r} must be lower-case letters and "
                f"digits, optionally joined by '_' or '-' (at most {keys.MAX_PREFIX_LENGTH})."
            )
        if prefix in prefixes:
            raise ImproperlyConfigured(
                f"APIKEYS key types {prefixes[prefix]!r} and {name!r} share prefix {prefix!r}."
            )
        prefixes[prefix] = name
        try:
            scopes = tuple(normalize_scopes(merged["scopes"]))
            default = merged["default_scopes"]
            default_scopes = tuple(normalize_scopes(default)) if default is not None else None
        except ValidationError as exc:
            raise ImproperlyConfigured(
                f"APIKEYS key type {name!r} has an invalid scope: {'; '.join(exc.messages)}"
            ) from None
        types[name] = KeyType(
            name=name,
            prefix=prefix,
            owner=merged["owner"],
            publishable=bool(merged["publishable"]),
            read_only=bool(merged["read_only"]),
            scopes=scopes,
            default_scopes=default_scopes,
            rate_limit_per_minute=int(merged["rate_limit_per_minute"]),
            rate_limit_per_day=int(merged["rate_limit_per_day"]),
            rate_limit_per_month=int(merged["rate_limit_per_month"]),
            lifetime_quota=merged["lifetime_quota"],
            label=str(merged["label"] or name.replace("_", " ").title()),
            description=str(merged["description"]),
            tenancy=merged["tenancy"],
            organization_permissions=org_permissions,
        )
    return types


class APIKeysSettings:
    """Attribute access to ``settings.APIKEYS`` with defaults; cached until reloaded."""

    def __init__(self) -> None:
        self._cached: set[str] = set()

    @property
    def user_settings(self) -> dict[str, Any]:
        if not hasattr(self, "_user_settings"):
            value = getattr(settings, "APIKEYS", {}) or {}
            unknown = set(value) - set(DEFAULTS)
            if unknown:
                raise ImproperlyConfigured(
                    f"Unknown APIKEYS setting(s): {', '.join(sorted(unknown))}."
                )
            self._user_settings = value
        return self._user_settings

    def __getattr__(self, attr: str) -> Any:
        if attr not in DEFAULTS:
            raise AttributeError(f"Invalid APIKEYS setting: {attr!r}")
        value = self.user_settings.get(attr, DEFAULTS[attr])
        if attr in IMPORT_STRINGS and isinstance(value, str):
            value = import_string(value)
        self._cached.add(attr)
        setattr(self, attr, value)
        return value

    @cached_property
    def key_types(self) -> dict[str, KeyType]:
        """Configured key types by name."""
        return _build_key_types(self.KEY_TYPES)

    @cached_property
    def parser(self) -> keys._Parser:
        """The hot-path key parser for the configured prefixes and separator."""
        prefixes = {kt.prefix: kt.name for kt in self.key_types.values()}
        return keys.make_parser(prefixes, self.SEPARATOR, self.BODY_LENGTH)

    @cached_property
    def header_meta_names(self) -> tuple[str, ...]:
        return tuple("HTTP_" + header.upper().replace("-", "_") for header in self.KEY_HEADERS)

    @cached_property
    def authorization_schemes(self) -> frozenset[str]:
        return frozenset(s.lower() for s in self.AUTHORIZATION_SCHEMES)

    @cached_property
    def organization_header_meta(self) -> str:
        return "HTTP_" + self.ORGANIZATION_HEADER.upper().replace("-", "_")

    def key_type(self, name: str) -> KeyType | None:
        return self.key_types.get(name)

    def reload(self) -> None:
        for attr in self._cached:
            delattr(self, attr)
        self._cached.clear()
        for attr in (
            "_user_settings",
            "key_types",
            "parser",
            "header_meta_names",
            "authorization_schemes",
            "organization_header_meta",
        ):
            self.__dict__.pop(attr, None)


apikeys_settings = APIKeysSettings()


def reload_apikeys_settings(*args: Any, setting: str = "", **kwargs: Any) -> None:
    if setting == "APIKEYS":
        apikeys_settings.reload()


setting_changed.connect(reload_apikeys_settings)
