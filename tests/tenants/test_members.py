"""Members: roles, removal, leaving, ownership transfer and the last-owner rule; two tenants."""

from __future__ import annotations

import pytest

from tenants import actions
from tenants.audit import Actor
from tenants.models import AuditEvent, Membership, Role
from tenants.policy import Conflict

pytestmark = pytest.mark.django_db


def test_every_member_sees_the_member_list_but_only_owners_see_controls(tenant_a):
    owner_page = tenant_a.client("owner").get(tenant_a.url("-/members/")).content.decode()
    viewer_page = tenant_a.client("viewer").get(tenant_a.url("-/members/")).content.decode()
    for page in (owner_page, viewer_page):
        assert "member@studio-a.example.com" in page
    assert "Send invitation" in owner_page and "Send invitation" not in viewer_page
    assert "/role/" in owner_page and "/role/" not in viewer_page


def test_member_list_does_not_leak_other_tenants(tenant_a, tenant_b):
    page = tenant_a.client("owner").get(tenant_a.url("-/members/")).content.decode()
    assert "studio-b.example.com" not in page


def test_owner_changes_a_role_and_it_is_audited(tenant_a):
    membership = tenant_a.membership("member")
    response = tenant_a.client().post(tenant_a.url(f"-/members/{membership.pk}/role/"), {"role": "admin"})
    assert response.status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == Role.ADMIN
    event = AuditEvent.objects.get(action="member.role")
    assert (event.before, event.after) == ({"role": "member"}, {"role": "admin"})


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_non_owner_cannot_change_roles(tenant_a, role):
    target = tenant_a.membership("viewer" if role != "viewer" else "member")
    response = tenant_a.client(role).post(tenant_a.url(f"-/members/{target.pk}/role/"), {"role": "owner"})
    assert response.status_code == 403
    assert Membership.objects.get(pk=target.pk).role == target.role


def test_owner_cannot_change_role_of_a_member_of_another_tenant(tenant_a, tenant_b):
    foreign = tenant_b.membership("member")
    response = tenant_a.client().post(tenant_a.url(f"-/members/{foreign.pk}/role/"), {"role": "viewer"})
    assert response.status_code == 404
    assert Membership.objects.get(pk=foreign.pk).role == Role.MEMBER


def test_last_owner_cannot_be_demoted(tenant_a):
    owner = tenant_a.membership("owner")
    tenant_a.client().post(tenant_a.url(f"-/members/{owner.pk}/role/"), {"role": "admin"})
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER
    assert not AuditEvent.objects.filter(action="member.role").exists()


def test_last_owner_cannot_leave(tenant_a):
    response = tenant_a.client().post(tenant_a.url("-/leave/"), follow=True)
    assert "The last owner cannot leave" in response.content.decode()
    assert Membership.objects.filter(pk=tenant_a.membership("owner").pk).exists()


def test_an_owner_can_be_demoted_when_another_owner_remains(tenant_a):
    second = tenant_a.membership("admin")
    actor = Actor(tenant_a.owner)
    actions.change_role(actor=actor, organization=tenant_a.organization, membership_id=second.pk, role=Role.OWNER)
    first = tenant_a.membership("owner")
    actions.change_role(actor=actor, organization=tenant_a.organization, membership_id=first.pk, role=Role.ADMIN)
    assert Membership.objects.get(pk=first.pk).role == Role.ADMIN


def test_two_owners_cannot_both_demote_themselves_past_the_last_owner(tenant_a):
    second = tenant_a.membership("admin")
    actions.change_role(
        actor=Actor(tenant_a.owner), organization=tenant_a.organization, membership_id=second.pk, role=Role.OWNER
    )
    actions.remove_member(actor=Actor(tenant_a.admin), organization=tenant_a.organization, membership_id=second.pk)
    with pytest.raises(Conflict):
        actions.remove_member(
            actor=Actor(tenant_a.owner),
            organization=tenant_a.organization,
            membership_id=tenant_a.membership("owner").pk,
        )


def test_member_leaves_and_loses_access(tenant_a):
    client = tenant_a.client("member")
    response = client.post(tenant_a.url("-/leave/"))
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get(tenant_a.url()).status_code == 404
    assert AuditEvent.objects.get(action="member.leave").target_repr == "member@studio-a.example.com"


def test_owner_removes_a_member_who_then_gets_404(tenant_a):
    membership = tenant_a.membership("viewer")
    tenant_a.client().post(tenant_a.url(f"-/members/{membership.pk}/remove/"))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert tenant_a.client("viewer").get(tenant_a.url("main/")).status_code == 404


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_non_owner_cannot_remove_others(tenant_a, role):
    target = tenant_a.membership("owner")
    assert tenant_a.client(role).post(tenant_a.url(f"-/members/{target.pk}/remove/")).status_code == 403
    assert Membership.objects.filter(pk=target.pk).exists()


def test_owner_transfers_ownership_and_becomes_admin(tenant_a):
    target = tenant_a.membership("member")
    tenant_a.client().post(tenant_a.url(f"-/members/{target.pk}/transfer/"))
    assert Membership.objects.get(pk=target.pk).role == Role.OWNER
    assert tenant_a.membership("owner").role == Role.ADMIN
    assert AuditEvent.objects.filter(action="member.transfer_ownership").count() == 1


def test_admin_cannot_transfer_ownership(tenant_a):
    target = tenant_a.membership("member")
    assert tenant_a.client("admin").post(tenant_a.url(f"-/members/{target.pk}/transfer/")).status_code == 403
    assert Membership.objects.get(pk=target.pk).role == Role.MEMBER


def test_member_actions_refuse_get(tenant_a):
    target = tenant_a.membership("member")
    assert tenant_a.client().get(tenant_a.url(f"-/members/{target.pk}/remove/")).status_code == 405
