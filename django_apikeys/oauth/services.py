"""The OAuth lifecycle: register / roll / delete apps, record and revoke
authorizations, and resolve an authorization on the hot path.

Views, admin, the validator and the authentication class call these; every
change to an app or authorization leaves an ``AuditEvent`` in the
organization's log and drops the cached lookup on commit.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model, get_refresh_token_model

from django_apikeys import cache, services
from django_apikeys.conf import apikeys_settings
from django_apikeys.models import AuditEvent, Organization
from django_apikeys.scopes import WILDCARD, grants, normalize_scopes, outside
from django_apikeys.services import resolution

from .conf import oauth_settings
from .models import OAuthApp, OAuthGrant

Reason = OAuthGrant.RevokedReason

#: Audit actions (``AuditEvent.action``) written by this part.
APP_CREATED = "oauth_app.created"
APP_SECRET_ROLLED = "oauth_app.secret_rolled"
APP_DELETED = "oauth_app.deleted"
GRANT_REVOKED = "oauth_grant.revoked"

CACHE_PREFIX = "oauthgrant:"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def _audit(
    organization: Organization | Any,
    action: str,
    target: models.Model,
    *,
    actor: Any = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) and actor.pk else None
    AuditEvent.objects.create(
        organization_id=getattr(organization, "pk", organization),
        actor_id=actor_id,
        action=action,
        target_type=target._meta.model_name or "",
        target_id=str(target.pk),
        target_repr=str(target)[:255],
        ip_address=ip_address or None,
        details=details or {},
    )


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


# --- scopes ----------------------------------------------------------------


def vocabulary() -> list[str]:
    """The scopes an app may be registered for: ``APIKEYS["SCOPE_VOCABULARY"]``."""
    return normalize_scopes(apikeys_settings.SCOPE_VOCABULARY)


def describe_scope(scope: str) -> str:
    """The scope in plain words for the consent page."""
    custom = oauth_settings.SCOPE_DESCRIPTIONS.get(scope)
    if custom:
        return str(custom)
    if scope == WILDCARD:
        return str(_("Everything your role allows"))
    resource, sep, action = scope.partition(":")
    resource = resource.replace("-", " ").replace("_", " ")
    if not sep:
        return str(_("Use “%(scope)s”") % {"scope": resource})
    if action == WILDCARD:
        return str(_("Everything on your %(resource)s") % {"resource": resource})
    if action == "read":
        return str(_("See your %(resource)s") % {"resource": resource})
    if action == "write":
        return str(_("Create and change your %(resource)s") % {"resource": resource})
    return str(
        _("%(action)s your %(resource)s") % {"action": action.capitalize(), "resource": resource}
    )


def granted_scopes(
    requested: Iterable[str], app_scopes: Iterable[str], role_scopes: Iterable[str]
) -> list[str]:
    """requested ∩ the app's registered scopes ∩ the user's role scopes in the organization."""
    app, role = list(app_scopes), list(role_scopes)
    return [s for s in normalize_scopes(list(requested)) if grants(app, s) and grants(role, s)]


# --- apps ------------------------------------------------------------------


def validate_redirect_uris(uris: Iterable[str]) -> list[str]:
    """Exact absolute URIs, https only except on localhost; no fragment, no wildcard."""
    result: list[str] = []
    for raw in uris:
        uri = str(raw).strip()
        if not uri:
            continue
        parts = urlsplit(uri)
        host = (parts.hostname or "").lower()
        if (
            parts.scheme not in ("https", "http")
            or not parts.netloc
            or parts.fragment
            or "*" in uri
            or " " in uri
        ):
            raise ValidationError(
                {"redirect_uris": _("“%(uri)s” is not an absolute URL.") % {"uri": uri[:200]}},
                code="invalid_redirect_uri",
            )
        if parts.scheme == "http" and host not in LOCAL_HOSTS:
            raise ValidationError(
                {
                    "redirect_uris": _("“%(uri)s” must use https (plain http only for localhost).")
                    % {"uri": uri[:200]}
                },
                code="insecure_redirect_uri",
            )
        if uri not in result:
            result.append(uri)
    if not result:
        raise ValidationError(
            {"redirect_uris": _("Give at least one redirect URI.")}, code="required"
        )
    return result


def validate_app_scopes(
    organization: Organization, scopes: Iterable[str], actor: Any
) -> list[str]:
    try:
        normalized = normalize_scopes(list(scopes))
    except ValidationError as exc:
        raise ValidationError({"scopes": exc.messages}, code="invalid_scope") from None
    if not normalized:
        raise ValidationError({"scopes": _("Pick at least one scope.")}, code="required")
    known = vocabulary()
    if known:
        unknown = outside(normalized, known)
        if unknown:
            raise ValidationError(
                {"scopes": _("Unknown scope(s): %(s)s.") % {"s": ", ".join(unknown)}},
                code="invalid_scope",
            )
    ceiling = services.allowed_scopes_for(actor, organization)
    if ceiling is not None:
        beyond = outside(normalized, ceiling)
        if beyond:
            raise ValidationError(
                {
                    "scopes": _("Your role does not hold: %(s)s.") % {"s": ", ".join(beyond)},
                },
                code="scope_beyond_role",
            )
    return normalized


def register_app(
    *,
    organization: Organization,
    name: str,
    redirect_uris: Iterable[str],
    scopes: Iterable[str],
    confidential: bool = True,
    description: str = "",
    actor: Any = None,
    ip_address: str | None = None,
) -> tuple[OAuthApp, str | None]:
    """Register an app; returns ``(app, client_secret)`` (``None`` for public clients).

    The secret is returned once and stored hashed by django-oauth-toolkit.
    """
    Application = get_application_model()
    uris = validate_redirect_uris(redirect_uris)
    normalized = validate_app_scopes(organization, scopes, actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the app a name.")}, code="required")
    secret = generate_client_secret() if confidential else None
    with transaction.atomic():
        application = Application(
            name=name[:255],
            user=actor if getattr(actor, "pk", None) else None,
            client_type=(
                Application.CLIENT_CONFIDENTIAL if confidential else Application.CLIENT_PUBLIC
            ),
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(uris),
            client_secret=secret or "",
            hash_client_secret=True,
            skip_authorization=False,
            algorithm="",
        )
        application.save()
        app = OAuthApp.objects.create(
            application=application,
            organization=organization,
            scopes=normalized,
            description=(description or "")[:255],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        _audit(
            organization,
            APP_CREATED,
            app,
            actor=actor,
            ip_address=ip_address,
            details={"client_id": application.client_id, "scopes": normalized},
        )
    return app, secret


def roll_secret(app: OAuthApp, *, actor: Any = None, ip_address: str | None = None) -> str:
    """A new client secret for a confidential app (returned once); the old one stops working."""
    application = app.application
    if application.client_type != application.CLIENT_CONFIDENTIAL:
        raise ValidationError(_("Public clients have no secret."), code="public_client")
    secret = generate_client_secret()
    with transaction.atomic():
        application.client_secret = secret
        application.hash_client_secret = True
        application.save(update_fields=["client_secret", "hash_client_secret", "updated"])
        app.secret_rolled_at = timezone.now()
        app.save(update_fields=["secret_rolled_at"])
        _audit(app.organization_id, APP_SECRET_ROLLED, app, actor=actor, ip_address=ip_address)
    return secret


def delete_app(app: OAuthApp, *, actor: Any = None, ip_address: str | None = None) -> None:
    """Delete the app; every authorization of it is revoked first (and its tokens die)."""
    with transaction.atomic():
        revoke_grants(
            OAuthGrant.objects.filter(application_id=app.application_id),
            reason=Reason.APP_DELETED,
            actor=actor,
            audit=False,
        )
        _audit(
            app.organization_id,
            APP_DELETED,
            app,
            actor=actor,
            ip_address=ip_address,
            details={"client_id": app.application.client_id},
        )
        app.application.delete()


def app_is_usable(application: Any) -> bool:
    """Whether ``application`` may take part in OAuth now: it is registered
    here (an :class:`OAuthApp`) by an organization that is not deleted.

    A deleted organization's apps are refused at every endpoint (consent,
    code exchange, refresh, revocation) until the purge deletes them with it;
    their authorizations are revoked when the organization is deleted.
    """
    return OAuthApp.objects.filter(
        application_id=getattr(application, "pk", None), organization__deactivated_at__isnull=True
    ).exists()


def grants_of_organization(organization_id: Any) -> models.QuerySet[OAuthGrant]:
    """The authorizations a deleted organization takes with it: those made in
    it, and every one of its apps' (whichever organization the user picked)."""
    return OAuthGrant.objects.filter(
        models.Q(organization_id=organization_id)
        | models.Q(application__apikeys_app__organization_id=organization_id)
    )


# --- authorizations --------------------------------------------------------


def record_authorization(
    *, application: Any, user: Any, organization_id: Any, scopes: list[str], code: str
) -> OAuthGrant:
    """The user approved the consent page: one authorization, found later by its code."""
    return OAuthGrant.objects.create(
        application=application,
        user=user,
        organization_id=organization_id,
        scopes=list(scopes),
        code_hash=hash_code(code),
    )


def invalidate_cached(grant_ids: Iterable[Any]) -> None:
    """Forget the cached lookups of these grants: an outbox row in the current
    transaction (see :func:`django_apikeys.cache.record_invalidation`), so the
    revocation holds in every process even if the cache misses the
    invalidation or comes back from an old snapshot."""
    cache.record_invalidation([f"{CACHE_PREFIX}{grant_id}" for grant_id in grant_ids])


def revoke_grants(
    grants_qs: models.QuerySet[OAuthGrant],
    *,
    reason: Any,
    actor: Any = None,
    ip_address: str | None = None,
    audit: bool = True,
) -> int:
    """Revoke the live authorizations in ``grants_qs``: their access tokens get
    401 ``token_revoked`` on the next request in every process, their refresh
    tokens stop working. Returns how many were revoked."""
    now = timezone.now()
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) and actor.pk else None
    with transaction.atomic():
        live = list(grants_qs.filter(revoked_at__isnull=True).select_related("application"))
        if not live:
            return 0
        ids = [grant.pk for grant in live]
        OAuthGrant.objects.filter(pk__in=ids).update(
            revoked_at=now, revoked_reason=reason, revoked_by_id=actor_id
        )
        RefreshToken = get_refresh_token_model()
        for grant_id in ids:
            RefreshToken.revoke_family(grant_id)
        if audit:
            for grant in live:
                _audit(
                    grant.organization_id,
                    GRANT_REVOKED,
                    grant,
                    actor=actor,
                    ip_address=ip_address,
                    details={
                        "client_id": grant.application.client_id,
                        "user_id": str(grant.user_id),
                        "reason": str(reason),
                    },
                )
        invalidate_cached(ids)
    return len(live)


def grant_queryset() -> models.QuerySet[OAuthGrant]:
    """The one query behind token authentication: the authorization, its
    organization and plan, its user, and the user's role there now."""
    return resolution.with_owner_grants(
        OAuthGrant.objects.select_related("organization", "organization__plan", "user")
    )


def _load_plain(grant_id: Any) -> OAuthGrant | None:
    return grant_queryset().filter(pk=grant_id).order_by().first()


def _load(grant_id: Any) -> OAuthGrant | None:
    """:func:`grant_queryset` by id: compiled to SQL once per connection (see
    :mod:`django_apikeys.oauth._compiled`), else the plain queryset."""
    from . import _compiled

    connection = connections[router.db_for_read(OAuthGrant)]
    lookup = _compiled.grant_lookup(connection, grant_queryset)
    if lookup is None:
        return _load_plain(grant_id)
    return lookup.fetch_id(connection, grant_id)  # type: ignore[no-any-return]


def fetch_grant(grant_id: Any) -> OAuthGrant | None:
    """An authorization by id: one indexed query, none on a warm lookup cache
    (``APIKEYS["KEY_CACHE_TIMEOUT"]``), with the keys' tombstone discipline."""
    return cache.fetch(f"{CACHE_PREFIX}{grant_id}", lambda: _load(grant_id))  # type: ignore[arg-type,return-value]


def touch_last_used(grant: OAuthGrant, now: datetime.datetime) -> None:
    """``last_used`` at most once per ``LAST_USED_INTERVAL`` per authorization."""
    seconds = int(oauth_settings.LAST_USED_INTERVAL)
    threshold = now - datetime.timedelta(seconds=seconds)
    ident = f"{CACHE_PREFIX}{grant.pk}"
    if not resolution.claim_last_used_write(ident, grant.last_used, threshold, seconds):
        return
    OAuthGrant.objects.filter(pk=grant.pk).filter(
        models.Q(last_used__isnull=True) | models.Q(last_used__lte=threshold)
    ).update(last_used=now)
    grant.last_used = now
