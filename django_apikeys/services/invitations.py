"""Invitations by e-mail: invite, resend, revoke, accept, decline.

A link carries a token signed with ``SECRET_KEY`` (Django's
``TimestampSigner``, salt :data:`TOKEN_SALT`) around a random secret; only
the SHA-256 of the secret is stored. A tampered link fails its signature
before any query; a genuine one finds its invitation by hash. Each
invitation is used once (accepted, declined or revoked ends it), expires
after ``APIKEYS["INVITATION_EXPIRY"]`` seconds, and resending replaces the
token, so an older link stops working.

Accepting needs a signed-in user whose e-mail address is the invited one
(:func:`normalize_email`: only ASCII letters fold case, so a look-alike
such as the Kelvin sign in ``\u212aim@example.com`` is another address): a
forwarded link is not enough. And the inviter must still be able to grant
the role when it is accepted: an invitation carries no authority its
inviter has since lost. The app does not verify addresses: the account's
address is what the site's user model holds, so a site that lets people set
an address without confirming it lets them accept invitations sent to it.
Nothing here looks up whether an address has an account, so no answer can
reveal it.

Links point to ``APIKEYS["SITE_URL"]`` (:func:`site_url`), never to a host a
request merely claims.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
import string
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import signals
from ..conf import apikeys_settings
from ..models import AuditEvent, Invitation, Membership, Organization, Role
from ._common import audit, invalid
from .members import add_member, can_grant_role

logger = logging.getLogger("django_apikeys")

Action = AuditEvent.Action
TOKEN_SALT = "django_apikeys.invitation"
SUBJECT_TEMPLATE = "django_apikeys/email/invitation_subject.txt"
BODY_TEMPLATE = "django_apikeys/email/invitation_body.txt"
HTML_TEMPLATE = "django_apikeys/email/invitation_body.html"


class InvitationError(ValidationError):
    """A link that cannot be used; ``code`` says why (see ``LINK_ERRORS``)."""


#: code -> (HTTP status for the invitation page, message)
LINK_ERRORS: dict[str, tuple[int, Any]] = {
    "invalid_link": (404, _("This invitation link is not valid. Check that it was copied whole.")),
    "expired": (410, _("This invitation has expired. Ask for a new one.")),
    "used": (410, _("This invitation has already been answered.")),
    "revoked": (410, _("This invitation was withdrawn.")),
    "wrong_account": (
        403,
        _(
            "This invitation was sent to another e-mail address. Sign in with the account "
            "that uses it, or ask for an invitation to your own address."
        ),
    ),
    "already_member": (409, _("You are already a member of this organization.")),
    "inviter_lost": (
        410,
        _(
            "The person who sent this invitation can no longer grant its role in this "
            "organization. Ask one of its current managers for a new invitation."
        ),
    ),
}


def _link_error(code: str) -> InvitationError:
    return InvitationError(LINK_ERRORS[code][1], code=code)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    """A fresh ``(token, hash)``: the signed token goes in the link, the hash in the row."""
    secret = secrets.token_urlsafe(32)
    return signing.TimestampSigner(salt=TOKEN_SALT).sign(secret), _hash(secret)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def normalize_email(email: str) -> str:
    """The form addresses are stored and compared in: stripped, ASCII letters
    lowercased, every other character kept exactly as it is.

    ``str.lower()``, ``casefold()`` and even Unicode normalisation (NFC, NFKC)
    map look-alikes onto ASCII — the Kelvin sign U+212A becomes ``k`` — so an
    account registered as ``\u212aim@example.com`` would match an invitation
    to ``kim@example.com``. Two spellings of one non-ASCII address that differ
    in their code points do not match: that fails closed (re-invite).
    """
    return (email or "").strip().translate(_ASCII_LOWER)


def site_url(request: HttpRequest) -> str:
    """Scheme and host invitation links point to.

    ``APIKEYS["SITE_URL"]`` when set; else this request's, but only when its
    host is named literally in ``ALLOWED_HOSTS`` (a wildcard lets a request
    choose any host, and the link would send the invitee there). Raises
    ``ValidationError`` (``site_url_required``) otherwise.
    """
    configured = apikeys_settings.SITE_URL
    if configured:
        return str(configured).rstrip("/")
    host, _port = split_domain_port(request.get_host())
    literal = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        literal = ["localhost", "127.0.0.1", "[::1]"]  # as Django allows in DEBUG
    if host and validate_host(host, literal):
        return f"{request.scheme}://{request.get_host()}"
    raise ValidationError(
        _(
            "Invitation links need the site's address: set APIKEYS['SITE_URL'] "
            "(e.g. https://example.com)."
        ),
        code="site_url_required",
    )


def _expiry(now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(seconds=apikeys_settings.INVITATION_EXPIRY)


def _user_email(user: Any) -> str:
    field = get_user_model().get_email_field_name()
    return normalize_email(getattr(user, field, "") or "")


def _pending(queryset: Any) -> Any:
    return queryset.filter(
        accepted_at__isnull=True,
        declined_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


def pending_invitations(organization: Organization) -> Any:
    """The organization's invitations that can still be accepted, newest first."""
    return _pending(Invitation.objects.filter(organization=organization)).select_related(
        "role", "invited_by"
    )


def accept_url(token: str, base_url: str) -> str:
    return base_url.rstrip("/") + reverse("django_apikeys:invitation", args=[token])


def _send(invitation: Invitation, token: str, base_url: str) -> None:
    """Send the invitation e-mail through Django's e-mail backend.

    Templates (override them in the site): :data:`SUBJECT_TEMPLATE`,
    :data:`BODY_TEMPLATE` and optionally :data:`HTML_TEMPLATE`.
    """
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "role": invitation.role,
        "inviter": invitation.invited_by,
        "accept_url": accept_url(token, base_url),
        "expires_at": invitation.expires_at,
    }
    subject = " ".join(render_to_string(SUBJECT_TEMPLATE, context).split())
    message = EmailMultiAlternatives(
        subject,
        render_to_string(BODY_TEMPLATE, context),
        settings.DEFAULT_FROM_EMAIL,
        [invitation.email],
    )
    try:
        message.attach_alternative(render_to_string(HTML_TEMPLATE, context), "text/html")
    except TemplateDoesNotExist:
        pass
    try:
        message.send()
    except Exception as exc:
        logger.warning("Could not send an invitation e-mail.", exc_info=True)
        raise ValidationError(
            _("The invitation e-mail could not be sent; nothing was saved. Try again later."),
            code="email_failed",
        ) from exc


def invite(
    organization: Organization,
    *,
    email: str,
    role: Role,
    actor: Any,
    base_url: str,
    ip_address: str | None = None,
) -> Invitation:
    """Invite ``email`` into ``organization`` with ``role`` and send the e-mail.

    Refused: a role with more rights than the actor's (``role_too_high``), an
    address of a current member (``already_member``; the inviter can see the
    member list anyway), an address with a pending invitation
    (``already_invited``: resend that one). If the e-mail cannot be sent the
    invitation is not kept (``email_failed``).
    """
    address = normalize_email(email)
    if not address:
        raise invalid("email", _("Enter an e-mail address."), "required")
    if actor is not None and not can_grant_role(actor, organization, role):
        raise invalid(
            "role", _("You cannot grant a role with more rights than your own."), "role_too_high"
        )
    email_field = get_user_model().get_email_field_name()
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        if Membership.objects.filter(
            organization=organization, **{f"user__{email_field}__iexact": address}
        ).exists():
            raise invalid(
                "email", _("Someone with this address is already a member."), "already_member"
            )
        if _pending(Invitation.objects.filter(organization=organization, email=address)).exists():
            raise invalid(
                "email",
                _("An invitation to this address is pending: resend it from the list below."),
                "already_invited",
            )
        now = timezone.now()
        token, token_hash = _new_token()
        invitation = Invitation.objects.create(
            organization=organization,
            email=address,
            role=role,
            token_hash=token_hash,
            invited_by=actor if getattr(actor, "pk", None) else None,
            created_at=now,
            sent_at=now,
            expires_at=_expiry(now),
        )
        audit(
            organization,
            Action.INVITATION_SENT,
            invitation,
            actor=actor,
            ip_address=ip_address,
            details={"email": address, "role": role.name},
        )
        # Last, inside the transaction: a failed send keeps nothing.
        _send(invitation, token, base_url)
    transaction.on_commit(
        lambda: signals.invitation_sent.send(
            sender=Invitation, invitation=invitation, actor=actor, resent=False
        )
    )
    return invitation


def resend_invitation(
    invitation: Invitation, *, actor: Any, base_url: str, ip_address: str | None = None
) -> Invitation:
    """Send a pending or expired invitation again with a new link and a new expiry.

    The previous link stops working. Refused for answered or revoked ones.
    """
    if actor is not None and not can_grant_role(actor, invitation.organization, invitation.role):
        raise ValidationError(
            _("You cannot resend an invitation to a role with more rights than your own."),
            code="role_too_high",
        )
    with transaction.atomic():
        locked = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("organization", "role", "invited_by")
            .get(pk=invitation.pk)
        )
        if locked.status not in (Invitation.Status.PENDING, Invitation.Status.EXPIRED):
            raise ValidationError(
                _("Only a pending or expired invitation can be resent."), code="not_pending"
            )
        now = timezone.now()
        token, locked.token_hash = _new_token()
        locked.sent_at, locked.expires_at = now, _expiry(now)
        locked.save(update_fields=["token_hash", "sent_at", "expires_at"])
        audit(
            locked.organization,
            Action.INVITATION_RESENT,
            locked,
            actor=actor,
            ip_address=ip_address,
            details={"email": locked.email, "role": locked.role.name},
        )
        _send(locked, token, base_url)
    transaction.on_commit(
        lambda: signals.invitation_sent.send(
            sender=Invitation, invitation=locked, actor=actor, resent=True
        )
    )
    return locked


def revoke_invitation(
    invitation: Invitation, *, actor: Any, ip_address: str | None = None
) -> bool:
    """Withdraw an unanswered invitation; ``False`` if it was already answered or revoked."""
    with transaction.atomic():
        updated = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            declined_at__isnull=True,
            revoked_at__isnull=True,
        ).update(revoked_at=timezone.now())
        if not updated:
            return False
        invitation.refresh_from_db()
        audit(
            invitation.organization,
            Action.INVITATION_REVOKED,
            invitation,
            actor=actor,
            ip_address=ip_address,
            details={"email": invitation.email},
        )
        transaction.on_commit(
            lambda: signals.invitation_revoked.send(
                sender=Invitation, invitation=invitation, actor=actor
            )
        )
    return True


def invitation_for_token(token: str) -> Invitation:
    """The invitation behind a link's token, whatever its state.

    Raises :class:`InvitationError` ``invalid_link`` for a tampered,
    truncated or superseded token (a bad signature costs no query).
    """
    try:
        secret = signing.TimestampSigner(salt=TOKEN_SALT).unsign(str(token))
    except signing.BadSignature:
        raise _link_error("invalid_link") from None
    invitation = (
        Invitation.objects.select_related("organization", "role", "invited_by")
        .filter(token_hash=_hash(secret))
        .first()
    )
    if invitation is None:
        raise _link_error("invalid_link")
    return invitation


def inviter_may_grant(invitation: Invitation) -> bool:
    """Whether the invitation's inviter may grant its role **now**.

    A pending invitation holds no authority of its own: it is as good as its
    inviter's live right to grant the role (:func:`~.members.can_grant_role`:
    an active account, still a member, with a role at least as high). An
    invitation whose inviter's account was deleted has no inviter left.
    """
    inviter = invitation.invited_by
    if inviter is None:
        return False
    return can_grant_role(inviter, invitation.organization, invitation.role)


def check_usable(invitation: Invitation, user: Any) -> None:
    """Raise :class:`InvitationError` unless ``user`` may answer ``invitation`` now.

    Besides the link's own state, the inviter must still be able to grant the
    role (:func:`inviter_may_grant`), else ``inviter_lost``.
    """
    status = invitation.status
    if status in (Invitation.Status.ACCEPTED, Invitation.Status.DECLINED):
        raise _link_error("used")
    if status == Invitation.Status.REVOKED or not invitation.organization.is_active:
        raise _link_error("revoked")
    if status == Invitation.Status.EXPIRED:
        raise _link_error("expired")
    if _user_email(user) != invitation.email:
        raise _link_error("wrong_account")
    if not inviter_may_grant(invitation):
        raise _link_error("inviter_lost")


def _answer(token: str, user: Any) -> Invitation:
    invitation = invitation_for_token(token)
    locked = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("organization", "role", "invited_by")
        .get(pk=invitation.pk)
    )
    check_usable(locked, user)
    return locked


def accept_invitation(token: str, user: Any, *, ip_address: str | None = None) -> Membership:
    """Accept: ``user`` becomes a member with the invited role; the link is spent."""
    with transaction.atomic():
        invitation = _answer(token, user)
        organization = invitation.organization
        if Membership.objects.filter(organization=organization, user=user).exists():
            raise _link_error("already_member")
        # The inviter's right to grant the role was checked again by _answer
        # (check_usable), against their role now, not when they invited.
        membership = add_member(
            organization, user, invitation.role, actor=None, ip_address=ip_address
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit(
            organization,
            Action.INVITATION_ACCEPTED,
            invitation,
            actor=user,
            ip_address=ip_address,
            details={"email": invitation.email, "role": invitation.role.name},
        )
        transaction.on_commit(
            lambda: signals.invitation_accepted.send(
                sender=Invitation, invitation=invitation, membership=membership, user=user
            )
        )
    return membership


def decline_invitation(token: str, user: Any, *, ip_address: str | None = None) -> Invitation:
    """Decline: nothing joins; the link is spent."""
    with transaction.atomic():
        invitation = _answer(token, user)
        invitation.declined_at = timezone.now()
        invitation.save(update_fields=["declined_at"])
        audit(
            invitation.organization,
            Action.INVITATION_DECLINED,
            invitation,
            actor=user,
            ip_address=ip_address,
            details={"email": invitation.email},
        )
        transaction.on_commit(
            lambda: signals.invitation_declined.send(
                sender=Invitation, invitation=invitation, user=user
            )
        )
    return invitation
