from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.core.management import call_command

from tenants.models import Membership, Organization, Project, Role, User

pytestmark = pytest.mark.django_db


def run_seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_operator_and_demo_tenant_and_prints_logins():
    output = run_seed()
    operator = User.objects.get(email="operator@haneul.localhost")
    owner = User.objects.get(email="owner@demo-studio.localhost")
    assert operator.is_operator
    assert not owner.is_operator
    org = Organization.objects.get(slug="demo-studio")
    assert Project.objects.filter(organization=org, slug="starfall-online").exists()
    assert Membership.objects.get(user=owner, organization=org).role == Role.OWNER
    assert "operator@haneul.localhost" in output
    assert "owner@demo-studio.localhost" in output
    assert "haneul-demo-2026" in output
    viewer = User.objects.get(email="viewer@demo-studio.localhost")
    assert Membership.objects.get(user=viewer, organization=org).role == Role.VIEWER
    assert "viewer@demo-studio.localhost" in output


def test_seed_demo_is_idempotent():
    run_seed()
    counts = [
        User.objects.count(),
        Organization.objects.count(),
        Project.objects.count(),
        Membership.objects.count(),
        EmailAddress.objects.count(),
    ]
    run_seed()
    assert [
        User.objects.count(),
        Organization.objects.count(),
        Project.objects.count(),
        Membership.objects.count(),
        EmailAddress.objects.count(),
    ] == counts


def test_seeded_logins_work_and_their_emails_are_verified():
    run_seed()
    for email in ("operator@haneul.localhost", "owner@demo-studio.localhost"):
        assert authenticate(username=email, password="haneul-demo-2026") is not None
        assert EmailAddress.objects.get(email=email).verified


def test_seed_demo_restores_a_changed_demo_password():
    run_seed()
    owner = User.objects.get(email="owner@demo-studio.localhost")
    owner.set_password("something-else-entirely")
    owner.save()
    run_seed()
    owner.refresh_from_db()
    assert owner.check_password("haneul-demo-2026")
