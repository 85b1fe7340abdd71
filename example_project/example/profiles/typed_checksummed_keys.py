"""Typed, checksummed keys read from ``X-API-Key`` (the reference design of this name).

``csb`` organization server keys with the Manager role's organization
permissions (the document's "full permissions": everything but the Owner's
say over the organization itself, so that a Manager can create one), ``csu``
user keys that act in any organization their owner belongs to, bounded by
the owner's role there (the organization named in the URL or the
``X-Organization`` header; without one, the organization the key was created
in), ``cpk`` publishable keys with their own rate limits and expiry; roles
Owner/Manager/Billing/Editor; session auth for the dashboard.

As the document says: per-key limits of 0 mean the global default (the
publishable type sets no limits of its own), ``last_used`` is written on
every authenticated request (``LAST_USED_INTERVAL = 0``: one UPDATE per
request, see docs/rate-limits), publishable keys reach a widget endpoint
(``GET /api/v1/widget/products``) with their default scopes, and "Offers"
(``/api/v1/orgs/<org_id>/offers``) needs ``organization.contribute_organization``.
"""

from example.settings import *  # noqa: F403

APIKEYS = {
    "SCOPE_VOCABULARY": [*EXAMPLE_SCOPES, "offers:read", "offers:write"],  # noqa: F405
    "KEY_TYPES": {
        "business": {
            "prefix": "csb",
            "owner": "organization",
            "label": "Business",
            "organization_permissions": "Manager",
        },
        "user": {"prefix": "csu", "owner": "user", "label": "User", "tenancy": "member"},
        "publishable": {
            "prefix": "cpk",
            "owner": "organization",
            "publishable": True,
            "label": "Publishable",
            "scopes": ["products:read", "offers:read", "assess"],
            # No type limits: a key's 0 means the global default below.
        },
    },
    "KEY_HEADERS": ["X-API-Key"],
    "DEFAULT_RATE_LIMIT_PER_MINUTE": 120,
    "DEFAULT_RATE_LIMIT_PER_DAY": 10_000,
    "LAST_USED_INTERVAL": 0,
}
EXAMPLE_API = {
    "server_types": ["business", "user", "session"],
    "browser_types": ["publishable", "business"],
    "ingest_types": ["business"],
}
