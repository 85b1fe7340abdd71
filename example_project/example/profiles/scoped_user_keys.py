"""Personal keys pinned to one organization with ``resource:action`` scopes,
and OAuth 2.0 for third-party apps (reference: seed 002).

``sk_live`` keys belong to a user inside one organization; sent as
``x-api-key`` or as a Bearer token; scopes may be written ``read:clients``
or ``clients:read``; a missing scope is 403. Third-party apps use the
authorization-code flow with PKCE at ``/api/auth/oauth2/authorize`` and
``/api/auth/oauth2/token``; their JWT access tokens (credential kind
``oauth``) act on the organization picked at consent.
"""

from example.settings import *  # noqa: F403

APIKEYS = {
    "SCOPE_VOCABULARY": EXAMPLE_SCOPES,  # noqa: F405
    "CLAIM_ALL_BEARER_TOKENS": False,  # OAuth access tokens share the Bearer header
    "KEY_TYPES": {
        "personal": {"prefix": "sk_live", "owner": "user", "label": "Personal"},
    },
}
EXAMPLE_API = {
    "server_types": ["personal", "session", "oauth"],
    "browser_types": ["personal"],
    "ingest_types": ["personal"],
}
