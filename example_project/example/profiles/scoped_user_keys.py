"""Personal keys pinned to one organization with ``resource:action`` scopes,
and OAuth 2.0 for third-party apps (the reference design of this name).

``sk_live`` keys belong to a user inside one organization; sent as
``x-api-key`` or as a Bearer token; scopes may be written ``read:clients``
or ``clients:read``; a missing scope is 403 (detail "Forbidden: missing
scope(s) ..."). The scope vocabulary is the document's fifteen resources.
Third-party apps use the authorization-code flow with PKCE at
``/api/auth/oauth2/authorize`` and ``/api/auth/oauth2/token``; their JWT
access tokens (credential kind ``oauth``) act on the organization picked at
consent, stamped into the token as ``organizationId``.
"""

from example.settings import *  # noqa: F403

#: The document's resources, each with :read and :write.
CLIENTCASA_RESOURCES = [
    "clients",
    "contacts",
    "projects",
    "invoices",
    "proposals",
    "contracts",
    "payments",
    "payouts",
    "time-entries",
    "milestones",
    "calendar-events",
    "inquiries",
    "transactions",
    "catalog-items",
    "webhooks",
]

APIKEYS = {
    "CLAIM_ALL_BEARER_TOKENS": False,  # OAuth access tokens share the Bearer header
    "SCOPE_VOCABULARY": [
        *(
            f"{resource}:{action}"
            for resource in CLIENTCASA_RESOURCES
            for action in ("read", "write")
        ),
        *EXAMPLE_SCOPES,  # noqa: F405  (the example API's products and reports)
    ],
    "KEY_TYPES": {
        "personal": {"prefix": "sk_live", "owner": "user", "label": "Personal"},
    },
}
APIKEYS_OAUTH = {**APIKEYS_OAUTH, "ORGANIZATION_CLAIM": "organizationId"}  # noqa: F405
EXAMPLE_API = {
    "server_types": ["personal", "session", "oauth"],
    "browser_types": ["personal"],
    "ingest_types": ["personal"],
}
