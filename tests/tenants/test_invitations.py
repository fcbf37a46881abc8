"""Invitations: send, resend, revoke, accept; expired, revoked and accepted-twice links; two tenants."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tenants.models import AuditEvent, Invitation, Membership, Role
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/invitations/[^/\s]+/)")


def invite(tenant, email: str = "newbie@example.com", role: str = "member", *, capture) -> str:
    with capture(execute=True):
        response = tenant.client().post(tenant.url("-/members/"), {"email": email, "role": role})
    assert response.status_code == 302, response.content.decode()[:500]
    return LINK.search(mail.outbox[-1].body).group(1)


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_owner_invites_by_email_and_the_link_is_mailed_after_commit(tenant_a, capture):
    link = invite(tenant_a, capture=capture)
    message = mail.outbox[-1]
    assert message.to == ["newbie@example.com"]
    assert "Studio A" in message.subject
    invitation = Invitation.objects.get(email="newbie@example.com")
    assert invitation.status == Invitation.Status.PENDING
    assert link.split("/")[2] not in invitation.token_hash  # only a hash of the token is stored
    assert AuditEvent.objects.get(action="invitation.create").target_repr == "newbie@example.com"


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_only_owners_invite(tenant_a, role):
    response = tenant_a.client(role).post(tenant_a.url("-/members/"), {"email": "x@example.com", "role": "member"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_inviting_an_existing_member_is_refused(tenant_a):
    response = tenant_a.client().post(
        tenant_a.url("-/members/"), {"email": "MEMBER@studio-a.example.com", "role": "member"}, follow=True
    )
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_second_open_invitation_to_the_same_address_is_refused(tenant_a, capture):
    invite(tenant_a, capture=capture)
    response = tenant_a.client().post(tenant_a.url("-/members/"), {"email": "Newbie@example.com", "role": "viewer"})
    assert response.status_code == 400
    assert "already has an open invitation" in response.content.decode()
    assert Invitation.objects.count() == 1


def test_owner_role_is_not_offered_in_invitations(tenant_a):
    tenant_a.client().post(tenant_a.url("-/members/"), {"email": "boss@example.com", "role": "owner"})
    assert not Invitation.objects.exists()


def test_invited_user_accepts_and_sees_the_project(tenant_a, capture):
    link = invite(tenant_a, role="viewer", capture=capture)
    newbie = make_user("newbie@example.com")
    client = Client()
    client.force_login(newbie)
    page = client.get(link)
    assert page.status_code == 200 and "Accept invitation" in page.content.decode()
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == "/o/studio-a/"
    assert Membership.objects.get(user=newbie, organization=tenant_a.organization).role == Role.VIEWER
    assert client.get(tenant_a.url("main/")).status_code == 200
    assert AuditEvent.objects.filter(action="invitation.accept").count() == 1


def test_accepting_twice_is_harmless_for_the_same_user_and_refused_for_another(tenant_a, capture):
    link = invite(tenant_a, capture=capture)
    newbie = make_user("newbie@example.com")
    client = Client()
    client.force_login(newbie)
    client.post(link)
    assert client.post(link).status_code == 302  # same user again: no second membership, no error
    assert Membership.objects.filter(user=newbie).count() == 1
    other = make_user("other@example.com")
    other_client = Client()
    other_client.force_login(other)
    response = other_client.post(link)
    assert response.status_code == 400
    assert not Membership.objects.filter(user=other).exists()


def test_invitation_for_another_address_cannot_be_accepted(tenant_a, capture):
    link = invite(tenant_a, capture=capture)
    stranger = make_user("stranger@example.com")
    client = Client()
    client.force_login(stranger)
    assert "you are signed in as stranger@example.com" in client.get(link).content.decode()
    assert client.post(link).status_code == 400
    assert not Membership.objects.filter(user=stranger).exists()


def test_expired_invitation_cannot_be_accepted(tenant_a, capture):
    link = invite(tenant_a, capture=capture)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    newbie = make_user("newbie@example.com")
    client = Client()
    client.force_login(newbie)
    assert "has expired" in client.get(link).content.decode()
    assert client.post(link).status_code == 400
    assert not Membership.objects.filter(user=newbie).exists()


def test_revoked_invitation_cannot_be_accepted(tenant_a, capture):
    link = invite(tenant_a, capture=capture)
    invitation = Invitation.objects.get()
    tenant_a.client().post(tenant_a.url(f"-/invitations/{invitation.pk}/revoke/"))
    assert Invitation.objects.get().status == Invitation.Status.REVOKED
    newbie = make_user("newbie@example.com")
    client = Client()
    client.force_login(newbie)
    assert client.post(link).status_code == 400
    assert not Membership.objects.filter(user=newbie).exists()


def test_resend_replaces_the_link_and_extends_the_expiry(tenant_a, capture):
    old_link = invite(tenant_a, capture=capture)
    Invitation.objects.update(
        expires_at=timezone.now() + timedelta(hours=1), sent_at=timezone.now() - timedelta(hours=1)
    )
    invitation = Invitation.objects.get()
    with capture(execute=True):
        tenant_a.client().post(tenant_a.url(f"-/invitations/{invitation.pk}/resend/"))
    new_link = LINK.search(mail.outbox[-1].body).group(1)
    assert new_link != old_link
    refreshed = Invitation.objects.get()
    assert refreshed.send_count == 2 and refreshed.expires_at > timezone.now() + timedelta(days=6)
    assert Client().get(old_link).status_code == 404
    assert Client().get(new_link).status_code == 200


def test_unknown_link_is_404(client):
    assert client.get("/invitations/not-a-real-token/").status_code == 404


def test_anonymous_visitor_is_offered_sign_in_and_sign_up_with_a_way_back(tenant_a, capture):
    link = invite(tenant_a, capture=capture)
    body = Client().get(link).content.decode()
    assert "/accounts/signup/?next=" in body and "email=newbie%40example.com" in body
    assert "/accounts/login/?next=" in body


def test_signing_up_from_the_invitation_link_needs_no_second_verification(tenant_a, capture):
    from allauth.account.models import EmailAddress

    link = invite(tenant_a, capture=capture)
    visitor = Client()
    visitor.get(link)
    mail.outbox.clear()
    response = visitor.post(
        f"/accounts/signup/?next={link}",
        {"email": "newbie@example.com", "password1": "a-long-passphrase-77", "password2": "a-long-passphrase-77"},
    )
    assert response.status_code == 302 and response["Location"] == link
    assert EmailAddress.objects.get(email="newbie@example.com").verified
    assert not mail.outbox
    assert visitor.post(link).status_code == 302
    assert Membership.objects.filter(user__email="newbie@example.com", organization=tenant_a.organization).exists()


def test_signing_up_with_another_address_from_the_link_still_needs_verification(tenant_a, capture):
    from allauth.account.models import EmailAddress

    link = invite(tenant_a, capture=capture)
    visitor = Client()
    visitor.get(link)
    visitor.post(
        f"/accounts/signup/?next={link}",
        {"email": "other@example.com", "password1": "a-long-passphrase-77", "password2": "a-long-passphrase-77"},
    )
    assert not EmailAddress.objects.get(email="other@example.com").verified


def test_other_tenant_cannot_resend_or_revoke(tenant_a, tenant_b, capture):
    invite(tenant_a, capture=capture)
    invitation = Invitation.objects.get()
    for action in ("resend", "revoke"):
        # Through its own organisation's URL the invitation does not exist; through A's, nothing does.
        assert tenant_b.client().post(tenant_b.url(f"-/invitations/{invitation.pk}/{action}/")).status_code == 404
        assert tenant_b.client().post(tenant_a.url(f"-/invitations/{invitation.pk}/{action}/")).status_code == 404
    assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_invitations_on_the_dashboard_of_the_invited_user(tenant_a, capture):
    invite(tenant_a, capture=capture)
    newbie = make_user("newbie@example.com")
    client = Client()
    client.force_login(newbie)
    assert "Invitations for you" in client.get("/").content.decode()


def test_resending_within_a_minute_is_refused_and_sends_nothing(tenant_a, capture):
    invite(tenant_a, capture=capture)
    invitation = Invitation.objects.get()
    sent = len(mail.outbox)
    with capture(execute=True):
        response = tenant_a.client().post(tenant_a.url(f"-/invitations/{invitation.pk}/resend/"), follow=True)
    assert "less than a minute ago" in response.content.decode()
    assert len(mail.outbox) == sent
    assert Invitation.objects.get().send_count == 1
