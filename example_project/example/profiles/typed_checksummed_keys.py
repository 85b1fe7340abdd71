"""Typed, checksummed keys read from ``X-API-Key`` (reference: seed 000).

``csb`` organization server keys, ``csu`` user keys bounded by the user's
memberships, ``cpk`` publishable keys with their own rate limits and expiry;
roles Owner/Manager/Billing/Editor; session auth for the dashboard.
"""

from example.settings import *  # noqa: F403

APIKEYS = {
    "SCOPE_VOCABULARY": EXAMPLE_SCOPES,  # noqa: F405
    "KEY_TYPES": {
        "business": {"prefix": "csb", "owner": "organization", "label": "Business"},
        "user": {"prefix": "csu", "owner": "user", "label": "User"},
        "publishable": {
            "prefix": "cpk",
            "owner": "organization",
            "publishable": True,
            "label": "Publishable",
            "scopes": ["products:read", "offers:read", "assess"],
            "rate_limit_per_minute": 60,
            "rate_limit_per_day": 5_000,
        },
    },
    "KEY_HEADERS": ["X-API-Key"],
}
EXAMPLE_API = {
    "server_types": ["business", "user", "session"],
    "browser_types": ["publishable", "business"],
    "ingest_types": ["business"],
}
