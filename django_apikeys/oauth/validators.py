"""django-oauth-toolkit's validator, extended at its documented hooks.

* scopes: known (``APIKEYS["SCOPE_VOCABULARY"]``) and registered for the app,
  else ``invalid_scope`` to the redirect URI;
* the authorization code carries the organization picked at consent: an
  :class:`~django_apikeys.oauth.models.OAuthGrant` is recorded beside DOT's
  ``Grant``; a **replayed code** is refused and revokes what it issued;
* refresh tokens belong to the authorization's family (``token_family`` = the
  grant's id): reuse of a rotated one revokes the family and the
  authorization; a code exchange or a refresh needs the authorization live,
  the user active and still a member, and the organization not deleted;
  refresh tokens live ``REFRESH_TOKEN_EXPIRE_SECONDS`` from issue;
* a deleted organization's apps are refused as clients everywhere;
* revoking a token (RFC 7009) revokes its authorization.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator as DOTValidator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2 import InvalidGrantError

from django_apikeys.models import Membership
from django_apikeys.scopes import grants, normalize_scopes

from . import services
from .models import OAuthApp, OAuthGrant

Reason = OAuthGrant.RevokedReason

#: django-oauth-toolkit's column sizes: a longer value matches nothing.
CLIENT_ID_LENGTH = 100
CODE_LENGTH = 255


def storable(value: Any, max_length: int) -> bool:
    """Whether ``value`` can be looked up in a text column: a string without
    NUL (PostgreSQL refuses one in a query: a 500) of at most ``max_length``."""
    return isinstance(value, str) and "\x00" not in value and len(value) <= max_length


def app_scopes(application: Any) -> list[str]:
    app = OAuthApp.objects.filter(application=application).only("scopes").first()
    return list(app.scopes) if app is not None else []


def _grant_refusal(grant: OAuthGrant) -> str | None:
    """Why ``grant`` may mint no token now (``None``: it may).

    Checked at the code exchange and at every refresh: a token minted here is
    valid for any resource server that verifies offline against the JWKS, so
    nothing is minted for a revoked authorization, a deactivated user, a
    user who left the organization, or a deleted organization.
    """
    if grant.revoked_at is not None:
        return "revoked"
    user = grant.user
    if user is None or not user.is_active:
        return "user_inactive"
    organization = grant.organization
    if organization is None or organization.deactivated_at is not None:
        return "organization_deleted"
    if not Membership.objects.filter(
        user_id=grant.user_id, organization_id=grant.organization_id
    ).exists():
        return "member_removed"
    return None


def _usable_grants() -> Any:
    return OAuthGrant.objects.select_related("user", "organization")


class OAuth2Validator(DOTValidator):
    """django-oauth-toolkit's validator, extended (see the module docstring).

    A deleted organization's apps are refused as clients at every endpoint
    (:func:`~.services.app_is_usable`): consent, token exchange, refresh and
    revocation answer ``invalid_client``.
    """

    # -- clients ------------------------------------------------------------

    def validate_client_id(self, client_id, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().validate_client_id(
            client_id, request, *args, **kwargs
        ) and services.app_is_usable(request.client)

    def authenticate_client(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().authenticate_client(request, *args, **kwargs) and services.app_is_usable(
            request.client
        )

    def authenticate_client_id(self, client_id, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().authenticate_client_id(
            client_id, request, *args, **kwargs
        ) and services.app_is_usable(request.client)

    def _load_application(self, client_id, request):  # type: ignore[no-untyped-def]
        # Every endpoint (authorize, token, revoke; Basic or body credentials)
        # loads the client here: an unstorable id is an unknown client.
        if not storable(client_id, CLIENT_ID_LENGTH):
            return None
        return super()._load_application(client_id, request)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            normalized = normalize_scopes(list(scopes or []))
        except ValidationError:  # bad grammar: an unknown scope
            return False
        if not normalized:
            return False
        registered = app_scopes(client)
        known = services.vocabulary()
        return all(
            grants(registered, s) and (not known or s in known or grants(known, s))
            for s in normalized
        )

    def get_default_scopes(self, client_id, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return app_scopes(request.client)

    # -- authorization code -------------------------------------------------

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        organization_id = getattr(request, "apikeys_organization_id", None)
        if organization_id is None:
            # Only the consent page (which makes the user pick an organization) may issue codes.
            raise InvalidGrantError(description="No organization was chosen.", request=request)
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        services.record_authorization(
            application=request.client,
            user=request.user,
            organization_id=organization_id,
            scopes=list(request.scopes or []),
            code=code["code"],
        )

    def validate_code(self, client_id, code, client, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not storable(code, CODE_LENGTH):  # no code is; PostgreSQL refuses a NUL (500)
            return False
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs)
        grant = _usable_grants().filter(code_hash=services.hash_code(code)).first()
        if grant is None:
            return False
        if grant.exchanged_at is not None:
            # RFC 6749 §4.1.2: a code used twice revokes the tokens it issued.
            services.revoke_grants(
                OAuthGrant.objects.filter(pk=grant.pk), reason=Reason.CODE_REPLAY
            )
            return False
        if not valid or grant.application_id != client.pk or _grant_refusal(grant):
            return False
        request.apikeys_grant = grant
        return True

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        OAuthGrant.objects.filter(code_hash=services.hash_code(code)).update(
            exchanged_at=timezone.now()
        )

    # -- refresh tokens -----------------------------------------------------

    def _create_refresh_token(
        self,
        request: Any,
        refresh_token_code: Any,
        access_token: Any,
        previous_refresh_token: Any,
    ) -> Any:
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        grant = getattr(request, "apikeys_grant", None)
        if grant is not None and refresh_token.token_family != grant.pk:
            refresh_token.token_family = grant.pk
            refresh_token.save(update_fields=["token_family"])
        return refresh_token

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        checksum = hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()
        rt = (
            get_refresh_token_model()
            .objects.filter(token_checksum=checksum)
            .order_by("-created")
            .first()
        )
        if rt is None or rt.token_family is None:
            return False
        grants_qs = OAuthGrant.objects.filter(pk=rt.token_family)
        if not valid:
            if rt.revoked is not None:  # a rotated (or revoked) token used again
                services.revoke_grants(grants_qs, reason=Reason.REFRESH_REUSE)
            return False
        lifetime = oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS
        if lifetime and rt.created + datetime.timedelta(seconds=int(lifetime)) <= timezone.now():
            return False
        grant = _usable_grants().filter(pk=rt.token_family).first()
        refusal = "revoked" if grant is None else _grant_refusal(grant)
        if refusal == "member_removed":
            services.revoke_grants(grants_qs, reason=Reason.MEMBER_REMOVED)
        if refusal is not None:
            # A deactivated user's authorizations stay (the account may come
            # back) but mint nothing while it is inactive.
            return False
        request.apikeys_grant = grant
        return True

    # -- RFC 7009 -----------------------------------------------------------

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Revoking any token of an authorization revokes the authorization
        (RFC 7009 §2.1 allows it; a JWT cannot be un-issued otherwise)."""
        grant_id = None
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        application_pk = getattr(request.client, "pk", None)
        if application_pk is not None:
            rt = (
                get_refresh_token_model()
                .objects.filter(token_checksum=checksum, application_id=application_pk)
                .first()
            )
            if rt is not None:
                grant_id = rt.token_family
            else:
                from . import tokens

                if tokens.looks_like_jwt(token):
                    try:
                        claims = tokens.verify(token)
                    except Exception:  # expired or invalid: nothing to revoke
                        claims = None
                    if claims and claims["client_id"] == request.client.client_id:
                        grant_id = claims["grant"]
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        if grant_id is not None:
            services.revoke_grants(
                OAuthGrant.objects.filter(pk=grant_id, application_id=application_pk),
                reason=Reason.TOKEN_REVOKED,
            )
