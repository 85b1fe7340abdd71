"""Personal keys pinned to one organization with ``resource:action`` scopes
(reference: seed 002).

``sk_live`` keys belong to a user inside one organization; sent as
``x-api-key`` or as a Bearer token; scopes may be written ``read:clients``
or ``clients:read``; a missing scope is 403.
"""

from example.settings import *  # noqa: F403

APIKEYS = {
    "SCOPE_VOCABULARY": EXAMPLE_SCOPES,  # noqa: F405
    "KEY_TYPES": {
        "personal": {"prefix": "sk_live", "owner": "user", "label": "Personal"},
    },
}
EXAMPLE_API = {
    "server_types": ["personal", "session"],
    "browser_types": ["personal"],
    "ingest_types": ["personal"],
}
