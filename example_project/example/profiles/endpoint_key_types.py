"""Bearer keys of three types, each admitted on its own endpoints (reference: seed 001).

``clm_pub`` checkout keys (browser-safe, ``assess`` only), ``clm_sk`` server
keys, ``clm_wh`` event-ingest keys (``POST /api/webhooks/ingest`` only).
Permissions ``resource:action`` with ``*``; the header is preferred and a
key in the query string is refused.
"""

from example.settings import *  # noqa: F403

APIKEYS = {
    "SCOPE_VOCABULARY": EXAMPLE_SCOPES,  # noqa: F405
    "KEY_TYPES": {
        "checkout": {
            "prefix": "clm_pub",
            "publishable": True,
            "label": "Checkout (browser)",
            "scopes": ["assess"],
            "rate_limit_per_minute": 120,
        },
        "server": {"prefix": "clm_sk", "label": "Server (backend)"},
        "ingest": {"prefix": "clm_wh", "label": "Event ingest", "scopes": ["events:write"]},
    },
    "KEY_HEADERS": [],
}
EXAMPLE_API = {
    "server_types": ["server"],
    "browser_types": ["checkout", "server"],
    "ingest_types": ["ingest"],
}
