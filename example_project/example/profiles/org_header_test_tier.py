"""Bearer key plus a required organization header; live and read-only test
tiers (the reference design of this name).

``sk-live-`` keys have full access; ``sk-test-`` keys are read-only, rate
limited and carry a lifetime quota. Stage 1 accepts an API key or an OAuth
JWT access token (credential kind ``oauth``); every request names its
organization in a header that must match the credential's (IDOR guard),
plans gate modules.
The playground (``POST /api/v1/playground/keys``) issues ``sk-test-`` keys to
anonymous visitors, one per fingerprint + IP per window, with the lifetime
quota carried over on reissue.
"""

from example.settings import *  # noqa: F403

APIKEYS = {
    "SCOPE_VOCABULARY": EXAMPLE_SCOPES,  # noqa: F405
    "SEPARATOR": "-",
    "KEY_TYPES": {
        "live": {"prefix": "sk-live", "label": "Live"},
        "test": {
            "prefix": "sk-test",
            "label": "Test (playground)",
            "read_only": True,
            "rate_limit_per_minute": 10,
            "lifetime_quota": 10,
        },
    },
    "KEY_HEADERS": [],
    "ORGANIZATION_HEADER": "X-Kloakd-Organization",
    "REQUIRE_ORGANIZATION_HEADER": True,
    "PLAYGROUND_KEY_TYPE": "test",
}
EXAMPLE_API = {
    "server_types": ["live", "test", "oauth"],
    "browser_types": ["live"],
    "ingest_types": ["live"],
}
