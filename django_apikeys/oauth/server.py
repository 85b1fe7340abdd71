"""oauthlib's server with PKCE restricted to S256 (RFC 7636 ``plain`` refused),
and the authorization request's stored parameters checked before consent."""

from __future__ import annotations

import re
from typing import Any

from oauthlib.oauth2 import Server as OAuthlibServer
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256

#: RFC 7636 section 4.2: BASE64URL(SHA256(verifier)) is 43 characters; the
#: grammar allows 43 to 128 unreserved characters (the grant stores 128).
CODE_CHALLENGE_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
#: The longest ``nonce`` a grant stores (django-oauth-toolkit's column).
NONCE_LENGTH = 255


def authorization_parameter_error(code_challenge: Any, nonce: Any) -> str | None:
    """Why an authorization request's ``code_challenge`` or ``nonce`` cannot be
    stored with its grant, or ``None``. Checked when the request arrives, so a
    malformed challenge is refused there and not at the token step."""
    if code_challenge is not None and not CODE_CHALLENGE_RE.fullmatch(str(code_challenge)):
        return "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636)."
    if nonce is not None and (len(str(nonce)) > NONCE_LENGTH or "\x00" in str(nonce)):
        return f"nonce must be at most {NONCE_LENGTH} characters."
    return None


def _check_stored_parameters(request: Any) -> dict[str, Any]:
    nonce = getattr(request, "nonce", None)
    problem = authorization_parameter_error(request.code_challenge, nonce)
    if problem:
        raise errors.InvalidRequestError(description=problem, request=request)
    return {}


class Server(OAuthlibServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A challenge without a method defaults to "plain" in oauthlib: refused too.
        self.auth_grant._code_challenge_methods = {"S256": code_challenge_method_s256}
        # After oauthlib's own checks: the error redirects to the client, as theirs.
        self.auth_grant.custom_validators.post_auth.append(_check_stored_parameters)
