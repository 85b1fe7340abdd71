"""oauthlib's server with PKCE restricted to S256 (RFC 7636 ``plain`` refused)."""

from __future__ import annotations

from typing import Any

from oauthlib.oauth2 import Server as OAuthlibServer
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256


class Server(OAuthlibServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A challenge without a method defaults to "plain" in oauthlib: refused too.
        self.auth_grant._code_challenge_methods = {"S256": code_challenge_method_s256}
