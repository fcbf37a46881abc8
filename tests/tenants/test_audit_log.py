"""The audit log is append-only; suspension allows read, stop and delete only; operators visit read-only, logged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse

from tenants.actions import create_project, delete_project, resume_organization, suspend_organization
from tenants.audit import Actor, record
from tenants.audit_labels import ACTION_LABELS, action_label, register_actions
from tenants.models import AuditEvent, Organization, Project
from tenants.policy import Operation, Suspended, ensure_not_suspended

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(tenant_a) -> AuditEvent:
    return record(Actor(user=tenant_a.owner), "project.update", organization=tenant_a.organization, after={"a": 1})


# Append-only ------------------------------------------------------------------------------------------------------


def test_an_event_cannot_be_saved_again(event):
    event.action = "project.delete"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "project.update"


def test_an_event_cannot_be_deleted_through_the_orm(event):
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_database_refuses_a_bulk_update(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="project.delete")
    assert AuditEvent.objects.get(pk=event.pk).action == "project.update"


def test_the_database_refuses_a_bulk_delete(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_events_outlive_what_they_point_at(tenant_a):
    actor = Actor(user=tenant_a.owner)
    project = create_project(actor=actor, organization=tenant_a.organization, name="Short-lived", slug="short")
    delete_project(actor=actor, project=project)
    assert list(AuditEvent.objects.filter(target_id=str(project.pk)).values_list("action", flat=True)) == [
        "project.delete",
        "project.create",
    ]


# Labels -----------------------------------------------------------------------------------------------------------


def test_every_action_the_actions_record_has_a_label():
    source = (Path(__file__).resolve().parents[2] / "tenants" / "actions.py").read_text()
    recorded = set(re.findall(r'"((?:organization|project|member|invitation|operator)\.[a-z_]+)"', source))
    assert recorded, "found no action names in tenants/actions.py"
    assert recorded - set(ACTION_LABELS) == set()


def test_an_unknown_action_shows_its_name():
    assert action_label("widget.spin") == "widget.spin"


def test_other_apps_can_add_their_actions(monkeypatch):
    from tenants import audit_labels

    monkeypatch.setattr(audit_labels, "ACTION_GROUPS", dict(audit_labels.ACTION_GROUPS))
    monkeypatch.setattr(audit_labels, "ACTION_LABELS", dict(audit_labels.ACTION_LABELS))
    register_actions("widget", "Widgets", {"widget.spin": "Widget spun"})
    assert audit_labels.action_label("widget.spin") == "Widget spun"
    assert ("Widgets", [("widget.spin", "Widget spun")]) in audit_labels.action_choices()


# Suspension -------------------------------------------------------------------------------------------------------


@pytest.fixture
def suspended(operator, tenant_a) -> Organization:
    return suspend_organization(
        actor=Actor(user=operator, operator=True), organization=tenant_a.organization, reason="x"
    )


@pytest.mark.parametrize("operation", [Operation.CREATE, Operation.UPDATE, Operation.START, Operation.RESIZE])
def test_suspended_organization_cannot_create_start_or_change(suspended, operation):
    with pytest.raises(Suspended):
        ensure_not_suspended(suspended, operation)


@pytest.mark.parametrize("operation", [Operation.READ, Operation.STOP, Operation.DELETE])
def test_suspended_organization_can_read_stop_and_delete(suspended, operation):
    ensure_not_suspended(suspended, operation)


@pytest.mark.parametrize("operation", list(Operation))
def test_active_organization_can_do_everything(tenant_a, operation):
    ensure_not_suspended(tenant_a.organization, operation)


def test_suspended_organization_cannot_create_a_project_but_can_delete_one(suspended, tenant_a):
    actor = Actor(user=tenant_a.owner)
    with pytest.raises(Suspended):
        create_project(actor=actor, organization=suspended, name="New", slug="new-one")
    assert not Project.objects.filter(slug="new-one").exists()
    delete_project(actor=actor, project=tenant_a.project)
    assert not Project.objects.filter(pk=tenant_a.project.pk).exists()


def test_resumed_organization_can_create_again(operator, suspended, tenant_a):
    resumed = resume_organization(actor=Actor(user=operator, operator=True), organization=suspended)
    create_project(actor=Actor(user=tenant_a.owner), organization=resumed, name="Back", slug="back")
    assert Project.objects.filter(slug="back").exists()


# Operators' read-only visits --------------------------------------------------------------------------------------


def test_operator_visit_to_an_organization_is_logged(operator, operator_client, tenant_a, tenant_b):
    response = operator_client.get(f"/o/{tenant_a.slug}/")
    assert response.status_code == 200
    visit = AuditEvent.objects.get(action="operator.visit")
    assert (visit.actor_id, visit.operator, visit.organization_id) == (operator.pk, True, tenant_a.organization.pk)
    assert visit.after == {"path": f"/o/{tenant_a.slug}/"}
    assert not AuditEvent.objects.filter(organization=tenant_b.organization).exists()


def test_operator_visit_to_a_project_page_names_the_project(operator_client, tenant_a):
    operator_client.get(f"/o/{tenant_a.slug}/{tenant_a.project.slug}/")
    assert AuditEvent.objects.get(action="operator.visit").project_id == tenant_a.project.pk


def test_post_by_a_visiting_operator_is_refused_and_changes_nothing(operator_client, tenant_a):
    before = AuditEvent.objects.count()
    create = reverse("project_create", kwargs={"org_slug": tenant_a.slug})
    assert operator_client.post(create, {"name": "Sneaky", "slug": "sneaky"}).status_code == 403
    assert operator_client.post(f"/o/{tenant_a.slug}/-/activity/").status_code == 403
    assert not Project.objects.filter(slug="sneaky").exists()
    assert AuditEvent.objects.count() == before


def test_operator_visit_of_an_unknown_organization_is_404(operator_client):
    assert operator_client.get("/o/no-such-org/").status_code == 404
    assert not AuditEvent.objects.exists()


def test_an_operator_who_is_also_a_member_acts_as_a_member_in_that_organization(tenant_a, operator):
    from tenants.models import Membership, Role

    Membership.objects.create(user=operator, organization=tenant_a.organization, role=Role.ADMIN)
    client = Client()
    client.force_login(operator)
    client.post(tenant_a.url("-/projects/new/"), {"name": "Ops Tools"})
    event = AuditEvent.objects.get(action="project.create")
    assert event.actor_id == operator.pk and event.operator is False
