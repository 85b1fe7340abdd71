"""OAuth 2.0 for third-party apps (optional: ``pip install django-apikeys[oauth]``).

An authorization server on django-oauth-toolkit (authorization code + PKCE
S256, refresh-token rotation, RFC 7009 revocation, RFC 8414 metadata, JWKS)
issuing **JWT access tokens** pinned to the organization the user picked at
consent, and a DRF authentication class that verifies them without a query.
See ``docs/oauth.rst``. Imports the core; the core never imports this.
"""
