"""Invitations by e-mail: the happy path and each edge case of the issue
(expired, reused, revoked, another account, role too high, existing member,
tampered token), resend, rate limit, e-mail templates and failure."""

from __future__ import annotations

import datetime
import re
import socket

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from django_apikeys import services
from django_apikeys.models import AuditEvent, Invitation, Membership
from tests.factories import MembershipFactory, UserFactory, role
from tests.mail import use_smtp

pytestmark = pytest.mark.django_db
Action = AuditEvent.Action


def url(name: str, *args) -> str:
    return reverse(f"django_apikeys:{name}", args=args)


@pytest.fixture
def owner() -> Membership:
    return MembershipFactory(role=role("Owner"))


def invite(client, owner, email="colleague@example.com", role_name="Editor"):
    client.force_login(owner.user)
    return client.post(
        url("invitation_list", owner.organization.pk),
        {"email": email, "role": role(role_name).pk},
    )


def link_in_last_mail() -> str:
    match = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_invite_accept_joins_with_the_invited_role(
    client, owner, django_capture_on_commit_callbacks
):
    colleague = UserFactory(email="Colleague@Example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client, owner, "colleague@example.COM", "Manager")
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role.name) == ("colleague@example.com", "Manager")
    message = mail.outbox[-1]
    assert message.to == ["colleague@example.com"]
    assert owner.organization.name in message.subject
    link = link_in_last_mail()
    assert link.startswith("http://testserver/apikeys/invitations/")
    assert link in message.alternatives[0][0]
    # Only a hash of the secret is stored; the link is nowhere in the database.
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in str(Invitation.objects.values().get())
    assert token.split(":")[0] not in str(AuditEvent.objects.values())
    client.force_login(colleague)
    page = client.get(path_of(link))
    assert page.status_code == 200 and owner.organization.name in page.content.decode()
    response = client.post(path_of(link), {"answer": "accept"})
    assert response["Location"] == url("organization_detail", owner.organization.pk)
    membership = Membership.objects.get(user=colleague)
    assert membership.role.name == "Manager"
    invitation.refresh_from_db()
    assert invitation.status == "accepted" and invitation.accepted_by == colleague
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {Action.INVITATION_SENT, Action.MEMBER_ADDED, Action.INVITATION_ACCEPTED} <= actions


def test_a_visitor_is_sent_to_login_and_comes_back(client, owner, settings):
    invite(client, owner)
    client.logout()
    link = path_of(link_in_last_mail())
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert "colleague" not in response["Location"]
    settings.APIKEYS = {"INVITATION_LOGIN_URL": "/signup/"}
    response = client.get(link)
    assert response["Location"].startswith("/signup/?next=/apikeys/invitations/")
    # A visitor's POST answers nothing.
    client.post(link, {"answer": "accept"})
    assert Invitation.objects.get().status == "pending"


def test_decline_spends_the_link(client, owner):
    invite(client, owner)
    link = path_of(link_in_last_mail())
    colleague = UserFactory(email="colleague@example.com")
    client.force_login(colleague)
    response = client.post(link, {"answer": "decline"})
    assert response["Location"] == url("organization_list")
    assert not Membership.objects.filter(user=colleague).exists()
    assert Invitation.objects.get().status == "declined"
    assert AuditEvent.objects.filter(action=Action.INVITATION_DECLINED).exists()
    response = client.post(link, {"answer": "accept"})
    assert response.status_code == 410


def test_an_expired_invitation_cannot_be_accepted(client, owner):
    invite(client, owner)
    link = path_of(link_in_last_mail())
    Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    client.force_login(UserFactory(email="colleague@example.com"))
    for response in (client.get(link), client.post(link, {"answer": "accept"})):
        assert response.status_code == 410
        assert "expired" in response.content.decode()
    assert Membership.objects.filter(organization=owner.organization).count() == 1


def test_the_expiry_is_a_setting(client, owner, settings):
    settings.APIKEYS = {"INVITATION_EXPIRY": 3600}
    invite(client, owner)
    invitation = Invitation.objects.get()
    assert invitation.expires_at - invitation.sent_at == datetime.timedelta(hours=1)


def test_a_used_link_cannot_be_used_again(client, owner):
    invite(client, owner)
    link = path_of(link_in_last_mail())
    colleague = UserFactory(email="colleague@example.com")
    client.force_login(colleague)
    assert client.post(link, {"answer": "accept"}).status_code == 302
    # Removed afterwards, the same link does not bring them back.
    Membership.objects.filter(user=colleague).delete()
    response = client.post(link, {"answer": "accept"})
    assert response.status_code == 410
    assert not Membership.objects.filter(user=colleague).exists()


def test_a_revoked_invitation_cannot_be_accepted(client, owner):
    invite(client, owner)
    link = path_of(link_in_last_mail())
    invitation = Invitation.objects.get()
    response = client.post(url("invitation_revoke", owner.organization.pk, invitation.pk))
    assert response.status_code == 302
    assert Invitation.objects.get().status == "revoked"
    assert AuditEvent.objects.filter(action=Action.INVITATION_REVOKED).exists()
    client.force_login(UserFactory(email="colleague@example.com"))
    response = client.post(link, {"answer": "accept"})
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()
    assert not services.revoke_invitation(invitation, actor=owner.user)


def test_another_signed_in_account_cannot_accept(client, owner):
    invite(client, owner)
    link = path_of(link_in_last_mail())
    intruder = UserFactory(email="someone.else@example.com")
    client.force_login(intruder)
    for response in (client.get(link), client.post(link, {"answer": "accept"})):
        assert response.status_code == 403
        assert "another e-mail address" in response.content.decode()
    assert not Membership.objects.filter(user=intruder).exists()
    assert Invitation.objects.get().status == "pending"  # still usable by the right person
    client.force_login(UserFactory(email="colleague@example.com"))
    assert client.post(link, {"answer": "accept"}).status_code == 302


def test_a_role_higher_than_the_inviters_is_refused(client, owner):
    manager = MembershipFactory(organization=owner.organization, role=role("Manager"))
    response = invite(client, manager, role_name="Owner")
    assert response.status_code == 200
    assert "role" in response.context["form"].errors
    assert not Invitation.objects.exists()
    with pytest.raises(ValidationError) as info:
        services.invite(
            owner.organization,
            email="x@example.com",
            role=role("Owner"),
            actor=manager.user,
            base_url="http://testserver",
        )
    assert info.value.error_dict["role"][0].code == "role_too_high"
    assert mail.outbox == []


def test_inviting_an_existing_member_is_refused(client, owner):
    editor = MembershipFactory(organization=owner.organization, role=role("Editor"))
    response = invite(client, owner, editor.user.email.upper())
    assert response.context["form"].errors.as_data()["email"][0].code == "already_member"
    assert not Invitation.objects.exists() and mail.outbox == []


def test_a_second_invitation_to_a_pending_address_is_refused(client, owner):
    invite(client, owner)
    response = invite(client, owner)
    assert response.context["form"].errors.as_data()["email"][0].code == "already_invited"
    assert Invitation.objects.count() == 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: "x" + t,  # secret
        lambda t: t.split(":")[0],  # no signature at all
        lambda t: "not-a-token",
    ],
)
def test_a_tampered_token_is_404_without_a_query(
    client, owner, mangle, django_assert_max_num_queries
):
    invite(client, owner)
    token = link_in_last_mail().rstrip("/").rsplit("/", 1)[1]
    client.force_login(UserFactory(email="colleague@example.com"))
    bad = url("invitation", mangle(token))
    with django_assert_max_num_queries(3):  # session and user only
        response = client.get(bad)
    assert response.status_code == 404
    assert "not valid" in response.content.decode()
    assert client.post(bad, {"answer": "accept"}).status_code == 404
    assert Invitation.objects.get().status == "pending"


def test_an_accepting_member_is_told_they_are_one(client, owner):
    invite(client, owner)
    link = path_of(link_in_last_mail())
    colleague = UserFactory(email="colleague@example.com")
    MembershipFactory(organization=owner.organization, user=colleague, role=role("Editor"))
    client.force_login(colleague)
    assert client.get(link).status_code == 409
    assert client.post(link, {"answer": "accept"}).status_code == 409


def test_resend_replaces_the_link_and_extends_the_expiry(client, owner):
    invite(client, owner)
    old_link = path_of(link_in_last_mail())
    invitation = Invitation.objects.get()
    Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(days=1))
    response = client.post(url("invitation_resend", owner.organization.pk, invitation.pk))
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    new_link = path_of(link_in_last_mail())
    assert new_link != old_link
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert AuditEvent.objects.filter(action=Action.INVITATION_RESENT).exists()
    client.force_login(UserFactory(email="colleague@example.com"))
    assert client.get(old_link).status_code == 404
    assert client.post(new_link, {"answer": "accept"}).status_code == 302


def test_answered_invitations_cannot_be_resent(client, owner):
    invite(client, owner)
    invitation = Invitation.objects.get()
    services.revoke_invitation(invitation, actor=owner.user)
    client.post(url("invitation_resend", owner.organization.pk, invitation.pk))
    assert len(mail.outbox) == 1


def test_resend_and_revoke_are_post_only(client, owner):
    invite(client, owner)
    invitation = Invitation.objects.get()
    for name in ("invitation_resend", "invitation_revoke"):
        assert client.get(url(name, owner.organization.pk, invitation.pk)).status_code == 405


def test_the_answer_never_reveals_whether_an_address_has_an_account(client, owner):
    UserFactory(email="has.account@example.com")
    first = invite(client, owner, "has.account@example.com")
    second = invite(client, owner, "no.account@example.com")
    assert first.status_code == second.status_code == 302
    page = client.get(url("invitation_list", owner.organization.pk))
    messages = [str(m) for m in page.context["messages"]]
    assert messages == [
        "Invitation sent to has.account@example.com as Editor.",
        "Invitation sent to no.account@example.com as Editor.",
    ]
    assert len(mail.outbox) == 2


def test_pending_invitations_are_listed(client, owner):
    invite(client, owner, "a@example.com")
    invite(client, owner, "b@example.com")
    services.revoke_invitation(Invitation.objects.get(email="b@example.com"), actor=None)
    page = client.get(url("invitation_list", owner.organization.pk))
    assert [i.email for i in page.context["invitations"]] == ["a@example.com"]


def test_invitation_posts_are_rate_limited(client, owner, settings):
    settings.APIKEYS = {"INVITATION_RATE": "3/h"}
    statuses = [invite(client, owner, f"p{i}@example.com").status_code for i in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert Invitation.objects.count() == 3
    invitation = Invitation.objects.first()
    response = client.post(url("invitation_resend", owner.organization.pk, invitation.pk))
    assert response.status_code == 429


def test_the_email_templates_can_be_overridden(client, owner, settings, tmp_path):
    folder = tmp_path / "django_apikeys" / "email"
    folder.mkdir(parents=True)
    (folder / "invitation_subject.txt").write_text("Join {{ organization.name }} now\n")
    (folder / "invitation_body.txt").write_text("Go to {{ accept_url }} as {{ role.name }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    invite(client, owner)
    message = mail.outbox[-1]
    assert message.subject == f"Join {owner.organization.name} now"
    assert message.body.startswith("Go to http://testserver/apikeys/invitations/")
    assert message.body.endswith(" as Editor")


def test_an_email_that_cannot_be_sent_keeps_nothing(client, owner, settings):
    # A real SMTP connection to a port nobody listens on.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    use_smtp(settings, port, 5)
    response = invite(client, owner)
    assert response.status_code == 200
    assert "could not be sent" in response.content.decode()
    assert not Invitation.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.INVITATION_SENT).exists()


def test_a_bad_answer_is_400_not_500(client, owner):
    invite(client, owner)
    link = path_of(link_in_last_mail())
    client.force_login(UserFactory(email="colleague@example.com"))
    assert client.post(link, {"answer": "maybe"}).status_code == 400
    assert Invitation.objects.get().status == "pending"


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b@c", "x" * 250 + "@example.com"])
def test_bad_addresses_are_form_errors(client, owner, email):
    response = invite(client, owner, email)
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert not Invitation.objects.exists()


def test_the_member_list_invites_and_add_by_username_is_for_superusers(client, owner):
    client.force_login(owner.user)
    page = client.get(url("member_list", owner.organization.pk)).content.decode()
    assert url("invitation_list", owner.organization.pk) in page
    assert 'name="user"' not in page
    newcomer = UserFactory()
    response = client.post(
        url("member_list", owner.organization.pk),
        {"user": newcomer.username, "role": role("Editor").pk},
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user=newcomer).exists()


def test_answers_to_invitations_are_rate_limited(client, owner):
    from django_apikeys.dashboard.mixins import DASHBOARD_POST_RATE

    invite(client, owner)
    link = path_of(link_in_last_mail())
    client.force_login(UserFactory(email="colleague@example.com"))
    limit = int(DASHBOARD_POST_RATE.split("/")[0])
    statuses = [client.post(link, {"answer": "maybe"}).status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [400] * limit and statuses[-1] == 429
    assert client.post(link, {"answer": "accept"}).status_code == 429
    assert Invitation.objects.get().status == "pending"


def test_links_never_point_to_a_host_the_request_chose(client, owner, settings):
    """A permissive ALLOWED_HOSTS lets a request claim any host: the link is
    built from APIKEYS["SITE_URL"], or not sent at all."""
    settings.ALLOWED_HOSTS = ["*"]
    client.force_login(owner.user)
    target = url("invitation_list", owner.organization.pk)
    body = {"email": "colleague@example.com", "role": role("Editor").pk}
    response = client.post(target, body, HTTP_HOST="attacker.example")
    assert response.status_code == 200
    assert response.context["form"].errors.as_data()["__all__"][0].code == "site_url_required"
    assert mail.outbox == [] and not Invitation.objects.exists()
    settings.APIKEYS = {"SITE_URL": "https://app.example.com/"}
    response = client.post(target, body, HTTP_HOST="attacker.example")
    assert response.status_code == 302
    assert link_in_last_mail().startswith("https://app.example.com/apikeys/invitations/")
    assert "attacker.example" not in mail.outbox[-1].body


def test_a_look_alike_address_does_not_accept(client, owner):
    """The Kelvin sign (U+212A) lowercases to "k": an account registered as
    "\u212aim@example.com" is not the invited kim@example.com."""
    invite(client, owner, "kim@example.com")
    link = path_of(link_in_last_mail())
    impostor = UserFactory(email="\u212aim@example.com")
    client.force_login(impostor)
    response = client.post(link, {"answer": "accept"})
    assert response.status_code == 403
    assert not Membership.objects.filter(user=impostor).exists()
    client.force_login(UserFactory(email="KIM@Example.com"))  # ASCII case still folds
    assert client.post(link, {"answer": "accept"}).status_code == 302


def test_normalize_email_folds_ascii_only():
    from django_apikeys.services.invitations import normalize_email

    assert normalize_email("  Kim@Example.COM ") == "kim@example.com"
    assert normalize_email("\u212aim@example.com") == "\u212aim@example.com"
    assert normalize_email("\u00c9mile@example.com") == "\u00c9mile@example.com"
