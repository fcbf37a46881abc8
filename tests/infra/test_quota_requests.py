"""Quota increase requests: members ask (viewers cannot), operators decide (nobody else can), the limit changes and
is pushed on approval, a rejection needs a reason, the requester is notified in the console and by e-mail, and every
step is audited. Another tenant's requests do not exist for it (404), on pages and in the API."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from infra import quotas
from infra.actions import quotas as actions
from infra.models import QuotaRequest
from tenants.audit import Actor
from tenants.models import AuditEvent, Notification
from tenants.policy import ActionError, Conflict, NotAllowed, NotFound, Suspended
from tenants.tasks import send_notification_email
from tests.conftest import make_api_token
from tests.infra.engine import activate, sandbox_region


@pytest.fixture
def sandbox(db):
    return sandbox_region()


@pytest.fixture
def active_a(sandbox, tenant_a):
    return activate(tenant_a.project, sandbox, Actor(tenant_a.admin))


def ask(tenant, region, *, user=None, resource="instances", limit=25, reason="A new fleet of game servers for launch"):
    return actions.request_quota(
        actor=Actor(user or tenant.member),
        project=tenant.project,
        region=region,
        resource=resource,
        requested_limit=limit,
        reason=reason,
    )


def test_member_asks_and_operator_approves_the_limit_changes_and_requester_is_notified(
    sandbox, active_a, tenant_a, operator, django_capture_on_commit_callbacks
):
    tenant_a.member.language = "ko"
    tenant_a.member.save(update_fields=["language"])
    request = ask(tenant_a, sandbox)
    assert request.status == QuotaRequest.Status.PENDING and request.current_limit == 10
    with django_capture_on_commit_callbacks(execute=True):
        actions.approve_quota_request(actor=Actor(operator, operator=True), request=request, note="Enjoy the launch")
    request.refresh_from_db()
    assert request.status == QuotaRequest.Status.APPROVED and request.decided_by == operator
    assert quotas.limits(tenant_a.project, sandbox)["instances"] == 25
    notification = Notification.objects.get(user=tenant_a.member)
    assert notification.kind == "quota_request.approved"
    assert "승인" in notification.title  # in the requester's language
    assert notification.url == reverse("quotas", args=[tenant_a.organization.slug, tenant_a.project.slug])
    send_notification_email(str(notification.pk))  # what the worker does with the task enqueued after commit
    assert [message.to for message in mail.outbox] == [[tenant_a.member.email]]
    assert "25" in mail.outbox[0].body and "Enjoy the launch" in mail.outbox[0].body
    assert {event.action for event in AuditEvent.objects.filter(project=tenant_a.project)} >= {
        "quota_request.create",
        "quota_request.approve",
    }


def test_operator_rejects_with_a_reason_and_the_limit_stays(
    sandbox, active_a, tenant_a, operator, django_capture_on_commit_callbacks
):
    request = ask(tenant_a, sandbox)
    with pytest.raises(ActionError):
        actions.reject_quota_request(actor=Actor(operator, operator=True), request=request, reason="  ")
    with django_capture_on_commit_callbacks(execute=True):
        actions.reject_quota_request(actor=Actor(operator, operator=True), request=request, reason="Pay the invoice")
    request.refresh_from_db()
    assert request.status == QuotaRequest.Status.REJECTED and request.decision_reason == "Pay the invoice"
    assert quotas.limits(tenant_a.project, sandbox)["instances"] == 10
    notification = Notification.objects.get(user=tenant_a.member, kind="quota_request.rejected")
    assert "Pay the invoice" in notification.body
    send_notification_email(str(notification.pk))
    assert len(mail.outbox) == 1 and "Pay the invoice" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="quota_request.reject", project=tenant_a.project).exists()


def test_viewer_cannot_ask_for_more(sandbox, active_a, tenant_a):
    with pytest.raises(NotAllowed):
        ask(tenant_a, sandbox, user=tenant_a.viewer)
    assert not QuotaRequest.objects.exists()


def test_only_operators_decide(sandbox, active_a, tenant_a):
    request = ask(tenant_a, sandbox)
    for user in (tenant_a.owner, tenant_a.admin, tenant_a.member):
        with pytest.raises(NotFound):
            actions.approve_quota_request(actor=Actor(user), request=request)
        with pytest.raises(NotFound):
            actions.reject_quota_request(actor=Actor(user), request=request, reason="no")
    request.refresh_from_db()
    assert request.status == QuotaRequest.Status.PENDING


def test_a_decided_request_cannot_be_decided_again(sandbox, active_a, tenant_a, operator):
    request = ask(tenant_a, sandbox)
    actions.approve_quota_request(actor=Actor(operator, operator=True), request=request)
    with pytest.raises(Conflict):
        actions.reject_quota_request(actor=Actor(operator, operator=True), request=request, reason="changed my mind")
    assert quotas.limits(tenant_a.project, sandbox)["instances"] == 25


def test_one_pending_request_per_resource_and_region(sandbox, active_a, tenant_a):
    ask(tenant_a, sandbox)
    with pytest.raises(Conflict):
        ask(tenant_a, sandbox, limit=30)
    ask(tenant_a, sandbox, resource="cores", limit=64)  # another resource is fine
    assert QuotaRequest.objects.count() == 2


@pytest.mark.parametrize(
    ("limit", "reason"),
    [(10, "A new fleet of game servers"), (5, "A new fleet of game servers"), (25, "short"), (-7, "A new fleet")],
)
def test_bad_requests_are_refused_and_create_nothing(sandbox, active_a, tenant_a, limit, reason):
    with pytest.raises(ActionError):
        ask(tenant_a, sandbox, limit=limit, reason=reason)
    assert not QuotaRequest.objects.exists()


def test_a_region_the_project_does_not_use_cannot_be_asked_for(sandbox, tenant_a):
    with pytest.raises(ActionError):
        ask(tenant_a, sandbox)


def test_suspended_organisation_cannot_ask(sandbox, active_a, tenant_a):
    tenant_a.organization.suspended_at = tenant_a.organization.created_at
    tenant_a.organization.save()
    with pytest.raises(Suspended):
        ask(tenant_a, sandbox)


def test_requester_or_admin_withdraws_but_not_another_member(sandbox, active_a, tenant_a, django_user_model):
    request = ask(tenant_a, sandbox, user=tenant_a.admin)
    with pytest.raises(NotAllowed):
        actions.cancel_quota_request(actor=Actor(tenant_a.member), request=request)
    actions.cancel_quota_request(actor=Actor(tenant_a.owner), request=request)
    request.refresh_from_db()
    assert request.status == QuotaRequest.Status.CANCELLED


def test_another_tenant_cannot_withdraw(sandbox, active_a, tenant_a, tenant_b):
    request = ask(tenant_a, sandbox)
    with pytest.raises(NotFound):
        actions.cancel_quota_request(actor=Actor(tenant_b.owner), request=request)


# Pages -----------------------------------------------------------------------------------------------------------


def quotas_url(tenant) -> str:
    return reverse("quotas", args=[tenant.organization.slug, tenant.project.slug])


def test_quotas_page_shows_usage_and_the_request_form_to_members(client, sandbox, active_a, tenant_a):
    client.force_login(tenant_a.member)
    page = client.get(quotas_url(tenant_a))
    assert page.status_code == 200
    body = page.content.decode()
    assert sandbox.name in body and 'name="requested_limit"' in body and 'data-resource="instances"' in body


def test_viewer_sees_quotas_without_the_request_form(client, sandbox, active_a, tenant_a):
    client.force_login(tenant_a.viewer)
    body = client.get(quotas_url(tenant_a)).content.decode()
    assert 'data-resource="instances"' in body and 'name="requested_limit"' not in body
    response = client.post(
        quotas_url(tenant_a),
        {"region": sandbox.slug, "resource": "instances", "requested_limit": 30, "reason": "we need more room"},
    )
    assert response.status_code == 403
    assert not QuotaRequest.objects.exists()


def test_member_asks_from_the_page(client, sandbox, active_a, tenant_a):
    client.force_login(tenant_a.member)
    response = client.post(
        quotas_url(tenant_a),
        {"region": sandbox.slug, "resource": "cores", "requested_limit": 64, "reason": "A bigger world boss event"},
    )
    assert response.status_code == 302
    request = QuotaRequest.objects.get()
    assert (request.resource, request.requested_limit, request.requested_by) == ("cores", 64, tenant_a.member)


def test_a_refused_request_on_the_page_says_why(client, sandbox, active_a, tenant_a):
    client.force_login(tenant_a.member)
    response = client.post(
        quotas_url(tenant_a),
        {"region": sandbox.slug, "resource": "cores", "requested_limit": 5, "reason": "A bigger world boss event"},
    )
    assert response.status_code == 400
    assert "Ask for more than the current limit" in response.content.decode()


def test_other_tenant_gets_404_on_every_quota_url(client, sandbox, active_a, tenant_a, tenant_b):
    request = ask(tenant_a, sandbox)
    client.force_login(tenant_b.owner)
    assert client.get(quotas_url(tenant_a)).status_code == 404
    withdraw = reverse("quota_request_cancel", args=[tenant_a.organization.slug, tenant_a.project.slug, request.pk])
    assert client.post(withdraw).status_code == 404
    # tenant b's own project with tenant a's request id: not found either
    withdraw_b = reverse("quota_request_cancel", args=[tenant_b.organization.slug, tenant_b.project.slug, request.pk])
    assert client.post(withdraw_b).status_code == 404
    for name, args in (
        ("operator_quota_requests", []),
        ("operator_quota_request", [request.pk]),
        ("operator_project_quotas", [tenant_a.project.pk]),
        ("operator_region_quotas", [sandbox.slug]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 404, name
    request.refresh_from_db()
    assert request.status == QuotaRequest.Status.PENDING


def test_operator_decides_from_the_queue(
    operator_client, sandbox, active_a, tenant_a, django_capture_on_commit_callbacks
):
    request = ask(tenant_a, sandbox)
    queue = operator_client.get(reverse("operator_quota_requests"))
    assert queue.status_code == 200 and str(request.pk) in queue.content.decode()
    detail = reverse("operator_quota_request", args=[request.pk])
    assert operator_client.get(detail).status_code == 200
    assert operator_client.post(detail, {"form": "reject", "reason": ""}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(detail, {"form": "approve", "note": ""})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == QuotaRequest.Status.APPROVED


def test_operator_edits_a_projects_limits_and_a_regions_defaults(operator_client, sandbox, active_a, tenant_a):
    page = reverse("operator_project_quotas", args=[tenant_a.project.pk])
    assert operator_client.get(page).status_code == 200
    response = operator_client.post(page, {"form": sandbox.slug, f"{sandbox.slug}-instances": "40"})
    assert response.status_code == 302
    assert quotas.limits(tenant_a.project, sandbox)["instances"] == 40
    defaults = reverse("operator_region_quotas", args=[sandbox.slug])
    assert operator_client.get(defaults).status_code == 200
    values = {resource: value for resource, value in quotas.limits(tenant_a.project, sandbox).items()}
    values["cores"] = 48
    assert operator_client.post(defaults, values).status_code == 302
    assert quotas.region_defaults(sandbox).cores == 48


# API -------------------------------------------------------------------------------------------------------------


def with_token(api_client, secret):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api_client


def test_api_member_asks_and_reads_the_requests(api_client, sandbox, active_a, tenant_a):
    client = with_token(api_client, make_api_token(tenant_a.member, tenant_a.organization, role="member")[1])
    base = f"/api/v1/projects/{tenant_a.project.pk}/"
    quotas_body = client.get(f"{base}quotas/").json()
    assert quotas_body[0]["region"] == sandbox.slug
    assert {"resource": "instances", "used": 0, "limit": 10, "custom": False} in quotas_body[0]["quotas"]
    created = client.post(
        f"{base}quota-requests/",
        {"region": sandbox.slug, "resource": "instances", "requested_limit": 20, "reason": "Season two launch"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    listed = client.get(f"{base}quota-requests/").json()
    assert [item["id"] for item in listed["results"]] == [created.json()["id"]]
    assert client.get(f"{base}quota-requests/{created.json()['id']}/").json()["status"] == "pending"


def test_api_viewer_cannot_ask(api_client, sandbox, active_a, tenant_a):
    client = with_token(api_client, make_api_token(tenant_a.viewer, tenant_a.organization, role="viewer")[1])
    response = client.post(
        f"/api/v1/projects/{tenant_a.project.pk}/quota-requests/",
        {"region": sandbox.slug, "resource": "instances", "requested_limit": 20, "reason": "Season two launch"},
        format="json",
    )
    assert response.status_code == 403
    assert not QuotaRequest.objects.exists()


def test_api_other_tenant_gets_404(api_client, sandbox, active_a, tenant_a, tenant_b):
    request = ask(tenant_a, sandbox)
    client = with_token(api_client, make_api_token(tenant_b.owner, tenant_b.organization)[1])
    base = f"/api/v1/projects/{tenant_a.project.pk}/"
    for url in (f"{base}quotas/", f"{base}quota-requests/", f"{base}quota-requests/{request.pk}/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{base}quota-requests/{request.pk}/withdraw/").status_code == 404
    own = f"/api/v1/projects/{tenant_b.project.pk}/quota-requests/{request.pk}/"
    assert client.get(own).status_code == 404
    for url in (
        "/api/v1/operator/quota-requests/",
        f"/api/v1/operator/projects/{tenant_a.project.pk}/quotas/",
        f"/api/v1/operator/regions/{sandbox.slug}/quota-defaults/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/api/v1/operator/quota-requests/{request.pk}/approve/").status_code == 404


def test_api_operator_approves_and_rejects(client, operator, sandbox, active_a, tenant_a, tenant_b):
    activate(tenant_b.project, sandbox, Actor(tenant_b.admin))
    first, second = ask(tenant_a, sandbox), ask(tenant_b, sandbox)
    client.force_login(operator)
    queue = client.get("/api/v1/operator/quota-requests/").json()
    assert {item["id"] for item in queue["results"]} == {str(first.pk), str(second.pk)}
    approved = client.post(f"/api/v1/operator/quota-requests/{first.pk}/approve/", {}, content_type="application/json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    refused = client.post(f"/api/v1/operator/quota-requests/{second.pk}/reject/", {}, content_type="application/json")
    assert refused.status_code == 400
    rejected = client.post(
        f"/api/v1/operator/quota-requests/{second.pk}/reject/", {"reason": "Not now"}, content_type="application/json"
    )
    assert rejected.status_code == 200 and rejected.json()["decision_reason"] == "Not now"
    assert quotas.limits(tenant_a.project, sandbox)["instances"] == 25
    assert quotas.limits(tenant_b.project, sandbox)["instances"] == 10
    patched = client.patch(
        f"/api/v1/operator/projects/{tenant_b.project.pk}/quotas/?region={sandbox.slug}",
        {"cores": 64},
        content_type="application/json",
    )
    assert patched.status_code == 200, patched.json()
    assert quotas.limits(tenant_b.project, sandbox)["cores"] == 64


def test_operators_see_a_new_request_in_the_console_without_an_email(
    sandbox, active_a, tenant_a, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = ask(tenant_a, sandbox)
    notification = Notification.objects.get(kind="quota_request.created")
    assert notification.user == operator
    assert notification.url == reverse("operator_quota_request", args=[request.pk])
    assert tenant_a.organization.name in notification.title
    assert not Notification.objects.filter(user=tenant_a.member).exists()
    assert mail.outbox == []
