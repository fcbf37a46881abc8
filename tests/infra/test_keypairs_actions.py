"""The key pair actions' rules: who may create and delete, names, duplicates, the cap, suspension, audit."""

from __future__ import annotations

import pytest
from django.utils import timezone

from infra import keys
from infra.actions import keypairs as actions
from infra.models import Keypair
from tenants.audit import Actor
from tenants.models import AuditEvent, Role
from tenants.policy import ActionError, Conflict, NotAllowed, NotFound, Suspended


def public_key(comment: str = "me@laptop") -> str:
    return keys.generate(keys.ED25519, comment=comment)[0].openssh


def test_a_member_imports_a_public_key_with_its_fingerprint_type_and_bits(tenant_a):
    key = public_key()
    keypair = actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="laptop", public_key=key
    )
    parsed = keys.parse_public_key(key)
    assert (keypair.name, keypair.user, keypair.project) == ("laptop", tenant_a.member, tenant_a.project)
    assert (keypair.key_type, keypair.bits, keypair.fingerprint) == ("ssh-ed25519", 256, parsed.fingerprint)
    assert (keypair.public_key, keypair.comment, keypair.generated) == (key, "me@laptop", False)
    assert keypair.cloud_name == f"hn-{keypair.pk}"
    event = AuditEvent.objects.get(action="keypair.import")
    assert event.project == tenant_a.project and event.target_id == str(keypair.pk)
    assert event.after["fingerprint"] == parsed.fingerprint


def test_a_blank_name_is_taken_from_the_keys_comment(tenant_a):
    keypair = actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="  ", public_key=public_key("alice@work-laptop")
    )
    assert keypair.name == "alice-work-laptop"
    with pytest.raises(ActionError, match="name"):
        actions.import_keypair(
            actor=Actor(tenant_a.member), project=tenant_a.project, name="", public_key=public_key("")
        )


@pytest.mark.parametrize("name", ["a" * 65, "bad/name", "emoji 🙂", "탭"])
def test_names_are_1_to_64_letters_digits_spaces_dots_hyphens_underscores(tenant_a, name):
    with pytest.raises(ActionError, match="64"):
        actions.import_keypair(
            actor=Actor(tenant_a.member), project=tenant_a.project, name=name, public_key=public_key()
        )


def test_an_invalid_key_is_refused_with_the_validators_reason(tenant_a):
    with pytest.raises(ActionError, match="DSA"):
        actions.import_keypair(
            actor=Actor(tenant_a.member), project=tenant_a.project, name="old", public_key="ssh-dss AAAAB3NzaC1kc3M="
        )
    assert not Keypair.objects.exists()


def test_names_are_unique_per_user_and_project_among_live_key_pairs(tenant_a):
    member, admin = Actor(tenant_a.member), Actor(tenant_a.admin)
    first = actions.import_keypair(actor=member, project=tenant_a.project, name="work", public_key=public_key())
    with pytest.raises(Conflict, match="work"):
        actions.import_keypair(actor=member, project=tenant_a.project, name="work", public_key=public_key())
    # another user may use the same name; a deleted key pair frees its name
    actions.import_keypair(actor=admin, project=tenant_a.project, name="work", public_key=public_key())
    actions.delete_keypair(actor=member, keypair=first)
    actions.import_keypair(actor=member, project=tenant_a.project, name="work", public_key=public_key())


def test_the_same_public_key_twice_for_one_user_and_project_is_refused_naming_the_first(tenant_a):
    key = public_key()
    actions.import_keypair(actor=Actor(tenant_a.member), project=tenant_a.project, name="first", public_key=key)
    with pytest.raises(Conflict, match="first"):
        actions.import_keypair(actor=Actor(tenant_a.member), project=tenant_a.project, name="again", public_key=key)
    # another member may import the same public key
    actions.import_keypair(actor=Actor(tenant_a.admin), project=tenant_a.project, name="shared", public_key=key)


def test_a_user_has_at_most_100_live_key_pairs_per_project(tenant_a, monkeypatch):
    monkeypatch.setattr(actions, "MAX_PER_USER", 3)
    member = Actor(tenant_a.member)
    made = [
        actions.import_keypair(actor=member, project=tenant_a.project, name=f"k{i}", public_key=public_key())
        for i in range(3)
    ]
    with pytest.raises(Conflict, match="3 key pairs"):
        actions.import_keypair(actor=member, project=tenant_a.project, name="k3", public_key=public_key())
    actions.import_keypair(actor=Actor(tenant_a.admin), project=tenant_a.project, name="k3", public_key=public_key())
    actions.delete_keypair(actor=member, keypair=made[0])
    actions.import_keypair(actor=member, project=tenant_a.project, name="k3", public_key=public_key())
    assert actions.MAX_PER_USER == 3 and Keypair.objects.live().filter(user=tenant_a.member).count() == 3


def test_the_cap_constant_is_100():
    assert actions.MAX_PER_USER == 100


def test_a_viewer_cannot_create_key_pairs(tenant_a):
    with pytest.raises(NotAllowed):
        actions.import_keypair(
            actor=Actor(tenant_a.viewer), project=tenant_a.project, name="v", public_key=public_key()
        )
    with pytest.raises(NotAllowed):
        actions.generate_keypair(actor=Actor(tenant_a.viewer), project=tenant_a.project, name="v")


def test_another_tenants_project_is_not_found(tenant_a, tenant_b):
    with pytest.raises(NotFound):
        actions.import_keypair(actor=Actor(tenant_b.owner), project=tenant_a.project, name="x", public_key=public_key())
    keypair = actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="x", public_key=public_key()
    )
    with pytest.raises(NotFound):
        actions.delete_keypair(actor=Actor(tenant_b.owner), keypair=keypair)


def test_generate_returns_the_private_key_and_keeps_the_public_key_only(tenant_a):
    keypair, private_key = actions.generate_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="ci deploy", key_type=keys.RSA
    )
    assert private_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert (keypair.key_type, keypair.bits, keypair.generated) == ("ssh-rsa", 4096, True)
    assert keypair.comment == "ci-deploy"
    body = keys.private_key_body(private_key)
    assert body not in keypair.public_key
    event = AuditEvent.objects.get(action="keypair.generate")
    assert body not in str(event.before) + str(event.after)
    with pytest.raises(ActionError, match="Ed25519 or RSA"):
        actions.generate_keypair(
            actor=Actor(tenant_a.member), project=tenant_a.project, name="x", key_type="ecdsa-sha2-nistp256"
        )


def test_a_member_deletes_their_own_and_admins_and_owners_anyones(tenant_a):
    def make(user, name):
        return actions.import_keypair(actor=Actor(user), project=tenant_a.project, name=name, public_key=public_key())

    own = make(tenant_a.member, "own")
    deleted = actions.delete_keypair(actor=Actor(tenant_a.member), keypair=own)
    assert deleted.deleted_at is not None
    assert AuditEvent.objects.filter(action="keypair.delete", target_id=str(own.pk)).exists()

    admins = make(tenant_a.admin, "admins")
    with pytest.raises(NotFound):  # another member's key pair is invisible to a member
        actions.delete_keypair(actor=Actor(tenant_a.member), keypair=admins)
    members = make(tenant_a.member, "members")
    actions.delete_keypair(actor=Actor(tenant_a.admin), keypair=members)
    actions.delete_keypair(actor=Actor(tenant_a.owner), keypair=admins)
    assert not Keypair.objects.live().exists()
    with pytest.raises(NotFound):  # deleted already
        actions.delete_keypair(actor=Actor(tenant_a.owner), keypair=admins)


def test_a_token_limited_below_admin_cannot_delete_another_members_key_pair(tenant_a):
    members = actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="m", public_key=public_key()
    )
    with pytest.raises(NotAllowed):
        actions.delete_keypair(actor=Actor(tenant_a.admin, role_ceiling=Role.MEMBER), keypair=members)


def test_a_suspended_organization_cannot_create_but_may_delete(tenant_a):
    keypair = actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="k", public_key=public_key()
    )
    tenant_a.organization.suspended_at = timezone.now()
    tenant_a.organization.save()
    tenant_a.project.organization.refresh_from_db()
    with pytest.raises(Suspended):
        actions.import_keypair(
            actor=Actor(tenant_a.member), project=tenant_a.project, name="n", public_key=public_key()
        )
    with pytest.raises(Suspended):
        actions.generate_keypair(actor=Actor(tenant_a.member), project=tenant_a.project, name="n")
    actions.delete_keypair(actor=Actor(tenant_a.member), keypair=keypair)


def test_deleting_a_key_pair_that_reached_a_cloud_sends_the_removal_after_commit(
    tenant_a, django_capture_on_commit_callbacks, monkeypatch
):
    from infra import tasks

    sent = []
    monkeypatch.setattr(tasks.delete_cloud_keypair, "delay", lambda pk: sent.append(pk))
    never = actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="a", public_key=public_key()
    )
    used = actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="b", public_key=public_key()
    )
    Keypair.objects.filter(pk=used.pk).update(cloud_regions=["some-region-id"])
    with django_capture_on_commit_callbacks(execute=True):
        actions.delete_keypair(actor=Actor(tenant_a.member), keypair=never)
        actions.delete_keypair(actor=Actor(tenant_a.member), keypair=used)
    assert sent == [str(used.pk)]
