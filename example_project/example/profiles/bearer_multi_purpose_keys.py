"""Plain Bearer keys, several per account for different purposes, with clear
401 reasons (the reference design of this name).

Keys carry an environment label (development, staging, production), shown
and filtered in the dashboard and admin, set by ``createapikey --environment``.

Missing ``Bearer`` prefix, invalid, expired and rate-limited keys each get
their own code; keys are rolled (regenerated) when compromised.
"""

from example.settings import *  # noqa: F403

APIKEYS = {
    "SCOPE_VOCABULARY": EXAMPLE_SCOPES,  # noqa: F405
    "KEY_TYPES": {
        "server": {"prefix": "sk", "label": "API key", "rate_limit_per_minute": 600},
    },
    "KEY_HEADERS": [],
    "DEFAULT_RATE_LIMIT_PER_MINUTE": 600,
    "ENVIRONMENTS": ["development", "staging", "production"],
}
EXAMPLE_API = {
    "server_types": ["server"],
    "browser_types": ["server"],
    "ingest_types": ["server"],
}
