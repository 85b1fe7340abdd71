"""Bearer keys of three types, each admitted on its own endpoints; the dashboard in Spanish.

``clm_pub`` checkout keys (browser-safe, ``assess`` only), ``clm_sk`` server
keys, ``clm_wh`` event-ingest keys (``POST /api/webhooks/ingest`` only).
Permissions ``resource:action`` with ``*`` (on a checkout key: everything a
checkout key may do, i.e. ``assess``); the merchant API
(``/api/v1/merchant/transactions``, ``transactions:read``) takes server keys
only. The header is preferred; a key in the ``api_key`` query parameter is
accepted with an ``X-API-Key-Warning`` response header and a logged warning.
"""

from example.settings import *  # noqa: F403

APIKEYS = {
    "SCOPE_VOCABULARY": [
        *EXAMPLE_SCOPES,  # noqa: F405
        "transactions:read",
        "transactions:write",
        "fraud:report",
    ],
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
    "ALLOW_KEY_IN_QUERY": True,
}
EXAMPLE_API = {
    "server_types": ["server"],
    "browser_types": ["checkout", "server"],
    "ingest_types": ["ingest"],
}

# A Spanish-language product: the dashboard, forms and error details in Spanish
# (django_apikeys ships locale/es; docs/templates.rst, "Translations").
LANGUAGE_CODE = "es"
