"""/api/v1/me/notifications/: the caller's own notifications only (a token: its organisation's only), cursor
pagination, `?unread=true`, marking one or all read; anyone else's answers 404 and stays unread."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import Notification, User
from tests.conftest import Tenant
from tests.tenants.api.conftest import client_for, session_client, token_client

pytestmark = pytest.mark.django_db

LIST = "/api/v1/me/notifications/"
READ_ALL = "/api/v1/me/notifications/read-all/"


def read_url(note: Notification) -> str:
    return f"/api/v1/me/notifications/{note.pk}/read/"


def make(user: User, count: int, *, tenant: Tenant | None = None, read: bool = False, title: str = "N") -> list:
    start = timezone.now()
    return Notification.objects.bulk_create(
        Notification(
            user=user,
            organization=tenant.organization if tenant else None,
            kind="test.api",
            title=f"{title} {number}",
            created_at=start + timedelta(seconds=number),
            read_at=start if read else None,
        )
        for number in range(count)
    )


def test_list_is_the_callers_own_newest_first_with_cursor_pages(tenant_a: Tenant, tenant_b: Tenant, auth_kind) -> None:  # type: ignore[no-untyped-def]
    make(tenant_a.owner, 30, tenant=tenant_a)
    make(tenant_a.member, 3, tenant=tenant_a, title="Member")
    make(tenant_b.owner, 3, tenant=tenant_b, title="Rival")
    client = client_for(auth_kind, tenant_a)
    first = client.get(LIST).json()
    assert set(first) == {"next", "previous", "results"}
    assert [row["title"] for row in first["results"][:2]] == ["N 29", "N 28"]
    assert len(first["results"]) == 25
    second = client.get(first["next"]).json()
    titles = [row["title"] for row in first["results"] + second["results"]]
    assert len(titles) == 30 and all(title.startswith("N ") for title in titles)
    row = first["results"][0]
    assert set(row) == {"id", "kind", "title", "body", "url", "organization", "project", "created_at", "read_at"}
    assert row["organization"] == str(tenant_a.organization.pk) and row["read_at"] is None


def test_unread_filter(tenant_a: Tenant, auth_kind) -> None:  # type: ignore[no-untyped-def]
    make(tenant_a.owner, 2, tenant=tenant_a, read=True, title="Old")
    make(tenant_a.owner, 1, tenant=tenant_a, title="Fresh")
    rows = client_for(auth_kind, tenant_a).get(LIST, {"unread": "true"}).json()["results"]
    assert [row["title"] for row in rows] == ["Fresh 0"]


def test_a_token_sees_only_its_organizations_notifications(tenant_a: Tenant, tenant_b: Tenant) -> None:
    from tenants.models import Membership, Role

    Membership.objects.create(user=tenant_a.owner, organization=tenant_b.organization, role=Role.MEMBER)
    make(tenant_a.owner, 1, tenant=tenant_a, title="A")
    other_org = make(tenant_a.owner, 1, tenant=tenant_b, title="B")[0]
    personal = make(tenant_a.owner, 1, title="Personal")[0]
    token = token_client(tenant_a)
    assert [row["title"] for row in token.get(LIST).json()["results"]] == ["A 0"]
    assert token.post(read_url(other_org)).status_code == 404
    assert token.post(read_url(personal)).status_code == 404
    assert token.post(READ_ALL).json() == {"marked": 1}
    assert Notification.objects.unread().filter(user=tenant_a.owner).count() == 2
    session = session_client(tenant_a)
    assert len(session.get(LIST).json()["results"]) == 3  # a session sees all the user's


def test_mark_one_read(tenant_a: Tenant, auth_kind) -> None:  # type: ignore[no-untyped-def]
    note = make(tenant_a.owner, 1, tenant=tenant_a)[0]
    response = client_for(auth_kind, tenant_a).post(read_url(note))
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    note.refresh_from_db()
    assert note.read_at is not None


def test_another_users_notification_is_404_and_stays_unread(tenant_a: Tenant, tenant_b: Tenant, auth_kind) -> None:  # type: ignore[no-untyped-def]
    owners = make(tenant_a.owner, 1, tenant=tenant_a)[0]
    for client in (client_for(auth_kind, tenant_a, "member"), client_for(auth_kind, tenant_b)):
        response = client.post(read_url(owners))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert client.get(LIST).json()["results"] == []
    owners.refresh_from_db()
    assert owners.read_at is None


def test_read_all_marks_only_the_callers(tenant_a: Tenant, tenant_b: Tenant, auth_kind) -> None:  # type: ignore[no-untyped-def]
    make(tenant_a.owner, 3, tenant=tenant_a)
    make(tenant_a.member, 2, tenant=tenant_a)
    make(tenant_b.owner, 2, tenant=tenant_b)
    client = client_for(auth_kind, tenant_a)
    assert client.post(READ_ALL).json() == {"marked": 3}
    assert client.post(READ_ALL).json() == {"marked": 0}
    assert Notification.objects.unread().count() == 4


def test_signed_out_callers_are_refused(tenant_a: Tenant) -> None:
    from rest_framework.test import APIClient

    note = make(tenant_a.owner, 1)[0]
    anonymous = APIClient()
    assert anonymous.get(LIST).status_code in (401, 403)
    assert anonymous.post(read_url(note)).status_code in (401, 403)
    assert anonymous.post(READ_ALL).status_code in (401, 403)
