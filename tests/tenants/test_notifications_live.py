"""The bell updates live: a notification is announced on its user's own group (`user.<id>`), which every page socket
of that user joins, and rendered as the viewer's own bell, through the production ASGI stack and Redis layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import connections, transaction

from console.core import live
from tenants import notify
from tenants.models import Notification, User
from tests.conftest import Tenant
from tests.console.test_live import open_socket, receive, sentinel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_consumer_connections() -> AsyncIterator[None]:
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def note_templates(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "templates" / "notes"
    folder.mkdir(parents=True)
    (folder / "subject.txt").write_text("{% load i18n %}{% translate 'Project' %}: {{ name }}")
    (folder / "body.txt").write_text("Body of {{ name }}")
    engines = [dict(engine) for engine in settings.TEMPLATES]
    engines[0]["DIRS"] = [*engines[0]["DIRS"], folder.parent]
    settings.TEMPLATES = engines


def tell(user: User, name: str) -> Notification:
    return notify.notify(
        user,
        kind="test.live",
        subject_template="notes/subject.txt",
        body_template="notes/body.txt",
        context={"name": name},
        url="/o/studio-a/",
        email=False,
    )


async def test_the_recipients_bell_arrives_live_and_not_another_members(tenant_a: Tenant, note_templates) -> None:  # type: ignore[no-untyped-def]
    owner_socket = await open_socket(live.socket_path(tenant_a.organization), tenant_a.owner)
    member_socket = await open_socket(live.socket_path(tenant_a.organization), tenant_a.member)

    await sync_to_async(tell)(tenant_a.owner, "Nebula")
    bell = await receive(owner_socket)
    assert bell.count('hx-swap-oob="outerHTML"') == 2  # the top bar's bell and the small screens'
    assert 'id="notifications-menu"' in bell and 'id="notifications-menu-mobile"' in bell
    assert 'data-unread="1">1</span>' in bell
    assert "Project: Nebula" in bell

    # The member of the same organisation watches the same page: the first thing they get is the next activity.
    await sync_to_async(sentinel)(tenant_a, "After Notify")
    first = await receive(member_socket)
    assert "After Notify" in first
    assert "Nebula" not in first and "notifications-menu" not in first
    await owner_socket.disconnect()
    await member_socket.disconnect()


async def test_a_project_page_gets_the_bell_too(tenant_a: Tenant, note_templates) -> None:  # type: ignore[no-untyped-def]
    socket = await open_socket(live.socket_path(tenant_a.project), tenant_a.viewer)
    await sync_to_async(tell)(tenant_a.viewer, "Quasar")
    bell = await receive(socket)
    assert "Project: Quasar" in bell
    await socket.disconnect()


async def test_reading_updates_the_bell_of_the_users_other_pages(tenant_a: Tenant, note_templates) -> None:  # type: ignore[no-untyped-def]
    note = await sync_to_async(tell)(tenant_a.owner, "Pulsar")
    socket = await open_socket(live.socket_path(tenant_a.organization), tenant_a.owner)
    await sync_to_async(notify.mark_read)(tenant_a.owner, note.pk)
    bell = await receive(socket)
    assert "badge-notification" not in bell
    assert "Project: Pulsar" in bell
    await socket.disconnect()


async def test_nothing_arrives_when_the_transaction_rolls_back(tenant_a: Tenant, note_templates) -> None:  # type: ignore[no-untyped-def]
    socket = await open_socket(live.socket_path(tenant_a.organization), tenant_a.owner)

    @sync_to_async
    def rolled_back() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            tell(tenant_a.owner, "Never Was")
            raise RuntimeError("changed my mind")

    await rolled_back()
    await sync_to_async(sentinel)(tenant_a, "After Rollback")
    first = await receive(socket)
    assert "After Rollback" in first
    assert "Never Was" not in first
    await socket.disconnect()


@pytest.mark.django_db
def test_the_renderer_shows_the_viewers_own_bell_whatever_the_id(tenant_a: Tenant) -> None:
    """Even an event naming someone else's notification renders only the connection's own user's bell."""
    theirs = Notification.objects.create(user=tenant_a.owner, kind="k", title="Owner secret")
    Notification.objects.create(user=tenant_a.member, kind="k", title="Member's own")
    from console.consumers import load_scope

    page = load_scope(User.objects.get(pk=tenant_a.member.pk), organization_id=tenant_a.organization.pk)
    html = notify.render_live(page, str(theirs.pk))
    assert "Member&#x27;s own" in html or "Member's own" in html
    assert "Owner secret" not in html
