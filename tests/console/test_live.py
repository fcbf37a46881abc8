"""The live channel: `console.core.live` (publish after commit) and `LiveConsumer` through the production ASGI stack
(origin check, session auth, routing) on the real Redis channel layer.

"Nothing arrives" is proven without waiting: the test then sends a committed sentinel through the same socket's
groups and checks that the first thing the socket receives is the sentinel.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connections, transaction
from django.test import Client

from console.asgi import application
from console.core import live
from tenants import actions
from tenants.audit import Actor, record
from tenants.models import AuditEvent, Membership, Project, Role, User
from tests.conftest import Tenant, make_user

pytestmark = pytest.mark.django_db(transaction=True)

RECEIVE_TIMEOUT = 10  # seconds a socket may take to get what was sent (a bound for a failure, not a measurement)
BUTTON = re.compile(r'class="btn[ "]')


@pytest.fixture(autouse=True)
async def _close_consumer_connections() -> AsyncIterator[None]:
    """The consumer's queries run in asgiref's shared worker thread: close its database connection after each test,
    or the test database cannot be dropped at the end of the run."""
    yield
    await sync_to_async(connections.close_all)()


def session_cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def open_socket(
    path: str, user: User | None = None, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), *(extra_headers or [])]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(session_cookie)(user)))
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _subprotocol = await socket.connect(timeout=RECEIVE_TIMEOUT)
    assert connected, f"the handshake of {path} failed"
    return socket


async def watch_org(tenant: Tenant, role: str) -> WebsocketCommunicator:
    socket = await open_socket(live.socket_path(tenant.organization), tenant.user(role))
    return socket


async def closed_with(socket: WebsocketCommunicator) -> int:
    """The close code of a socket that the server closes without sending anything first."""
    output = await socket.receive_output(timeout=RECEIVE_TIMEOUT)
    assert output["type"] == "websocket.close", f"expected the socket to close, got {output}"
    return output["code"]


async def receive(socket: WebsocketCommunicator) -> str:
    return await socket.receive_from(timeout=RECEIVE_TIMEOUT)


def sentinel(tenant: Tenant, name: str = "Sentinel") -> Project:
    """A committed change in the tenant (a project renamed): its activity reaches the organisation's and the
    project's sockets."""
    project = Project.objects.get(pk=tenant.project.pk)
    return actions.update_project(
        actor=Actor(user=tenant.owner), project=project, name=name, slug=project.slug, description=""
    )


def create_project(tenant: Tenant, name: str, role: str = "admin") -> Project:
    return actions.create_project(actor=Actor(user=tenant.user(role)), organization=tenant.organization, name=name)


# Who may watch --------------------------------------------------------------------------------------------------------


async def test_anonymous_socket_is_closed_4401(tenant_a: Tenant) -> None:
    socket = await open_socket(live.socket_path(tenant_a.organization))
    assert await closed_with(socket) == live.CLOSE_NOT_SIGNED_IN


async def test_another_organizations_member_is_closed_4403(tenant_a: Tenant, tenant_b: Tenant) -> None:
    org_socket = await open_socket(live.socket_path(tenant_a.organization), tenant_b.owner)
    assert await closed_with(org_socket) == live.CLOSE_NOT_A_MEMBER
    project_socket = await open_socket(live.socket_path(tenant_a.project), tenant_b.owner)
    assert await closed_with(project_socket) == live.CLOSE_NOT_A_MEMBER


async def test_unknown_scope_gets_the_same_answer_as_a_foreign_one(tenant_a: Tenant) -> None:
    socket = await open_socket("/ws/live/org/00000000-0000-4000-8000-000000000000/", tenant_a.owner)
    assert await closed_with(socket) == live.CLOSE_NOT_A_MEMBER


async def test_foreign_origin_is_refused_at_the_handshake(tenant_a: Tenant) -> None:
    cookie = await sync_to_async(session_cookie)(tenant_a.owner)
    socket = WebsocketCommunicator(
        application,
        live.socket_path(tenant_a.organization),
        headers=[(b"origin", b"http://evil.example.com"), (b"cookie", cookie)],
    )
    connected, _code = await socket.connect(timeout=RECEIVE_TIMEOUT)
    assert not connected


async def test_operator_watches_read_only_and_sees_what_auditors_see(tenant_a: Tenant, operator: User) -> None:
    socket = await open_socket(live.socket_path(tenant_a.organization), operator)
    await sync_to_async(create_project)(tenant_a, "Operator Watched")
    activity, projects = await receive(socket), await receive(socket)
    assert "Project created" in activity
    assert "Operator Watched" in projects
    assert not BUTTON.search(projects)
    await socket.disconnect()


# What a member receives -----------------------------------------------------------------------------------------------


async def test_member_receives_activity_after_commit_as_an_oob_fragment(tenant_a: Tenant) -> None:
    socket = await watch_org(tenant_a, "member")
    project = await sync_to_async(create_project)(tenant_a, "Nebula")
    event = await AuditEvent.objects.aget(action="project.create", project_id=project.pk)
    activity = await receive(socket)
    assert 'hx-swap-oob="afterbegin:#live-feed"' in activity
    assert f'id="activity-{event.pk}"' in activity
    assert "Admin of studio-a" in activity and "Project created" in activity and "Nebula" in activity
    assert "project.create" not in activity  # the label, not the action's code
    projects = await receive(socket)
    assert 'id="org-projects" hx-swap-oob="true"' in projects and "Nebula" in projects
    assert '<span id="org-project-count" hx-swap-oob="true">2</span>' in projects
    await socket.disconnect()


async def test_nothing_is_sent_when_the_transaction_rolls_back(tenant_a: Tenant) -> None:
    socket = await watch_org(tenant_a, "owner")

    @sync_to_async
    def rolled_back() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            create_project(tenant_a, "Never Was")
            raise RuntimeError("changed my mind")

    await rolled_back()
    await sync_to_async(sentinel)(tenant_a, "After Rollback")
    first = await receive(socket)
    assert "After Rollback" in first
    assert "Never Was" not in first
    await socket.disconnect()


async def test_another_organizations_events_never_arrive(tenant_a: Tenant, tenant_b: Tenant) -> None:
    socket = await watch_org(tenant_a, "owner")
    await sync_to_async(create_project)(tenant_b, "Rival Secret")
    await sync_to_async(sentinel)(tenant_a, "Ours")
    first = await receive(socket)
    assert "Ours" in first
    assert "Rival" not in first
    await socket.disconnect()


async def test_project_page_gets_only_its_projects_activity(tenant_a: Tenant) -> None:
    other = await sync_to_async(create_project)(tenant_a, "Other Game")
    socket = await open_socket(live.socket_path(tenant_a.project), tenant_a.member)

    @sync_to_async
    def rename_other() -> None:
        actions.update_project(
            actor=Actor(user=tenant_a.owner), project=other, name="Other Renamed", slug=other.slug, description=""
        )

    await rename_other()
    await sync_to_async(sentinel)(tenant_a, "Main Renamed")
    first = await receive(socket)
    assert "Main Renamed" in first and "afterbegin:#live-feed" in first
    assert "Other Renamed" not in first
    await socket.disconnect()  # and no project list: the project page has none (nothing else was queued)


async def test_viewers_project_list_has_no_buttons_while_an_admins_has(tenant_a: Tenant) -> None:
    viewer, admin = await watch_org(tenant_a, "viewer"), await watch_org(tenant_a, "admin")
    await sync_to_async(create_project)(tenant_a, "Button Test", role="owner")
    for socket in (viewer, admin):
        assert "Project created" in await receive(socket)
    viewer_list, admin_list = await receive(viewer), await receive(admin)
    assert "Button Test" in viewer_list and "Button Test" in admin_list
    assert not BUTTON.search(viewer_list)
    assert "/settings/" not in viewer_list
    assert BUTTON.search(admin_list)
    assert "/o/studio-a/button-test/settings/" in admin_list
    await viewer.disconnect()
    await admin.disconnect()


async def test_role_change_applies_to_the_next_event(tenant_a: Tenant) -> None:
    socket = await watch_org(tenant_a, "viewer")

    @sync_to_async
    def promote() -> None:
        membership = tenant_a.membership("viewer")
        actions.change_role(
            actor=Actor(user=tenant_a.owner),
            organization=tenant_a.organization,
            membership_id=membership.pk,
            role=Role.ADMIN,
        )

    await promote()
    assert "Role changed" in await receive(socket)
    await sync_to_async(create_project)(tenant_a, "After Promotion", role="owner")
    assert "Project created" in await receive(socket)
    projects = await receive(socket)
    assert "/o/studio-a/after-promotion/settings/" in projects
    await socket.disconnect()


async def test_korean_user_gets_korean_in_their_time_zone(tenant_a: Tenant) -> None:
    @sync_to_async
    def korean_viewer() -> User:
        user = make_user("minji@studio-a.example.com", name="Minji", language="ko", time_zone="Asia/Kolkata")
        Membership.objects.create(user=user, organization=tenant_a.organization, role=Role.VIEWER)
        return user

    user = await korean_viewer()
    english = await watch_org(tenant_a, "member")
    korean = await open_socket(live.socket_path(tenant_a.organization), user)
    await sync_to_async(create_project)(tenant_a, "Hanbit")
    ko, en = await receive(korean), await receive(english)
    assert "프로젝트 생성" in ko and "Project created" not in ko
    assert "Project created" in en
    assert re.search(r'datetime="[^"]+\+05:30"', ko), ko  # Kolkata
    assert re.search(r'datetime="[^"]+\+09:00"', en), en  # the console's default, Seoul
    await english.disconnect()
    await korean.disconnect()


async def test_without_a_chosen_language_the_browsers_is_used(tenant_a: Tenant) -> None:
    """As on pages: the profile's language, else the browser's (Accept-Language); the member has chosen none."""
    korean_browser = await open_socket(
        live.socket_path(tenant_a.organization), tenant_a.member, [(b"accept-language", b"ko-KR,ko;q=0.9,en;q=0.5")]
    )
    english_browser = await open_socket(
        live.socket_path(tenant_a.organization), tenant_a.viewer, [(b"accept-language", b"en-US,en;q=0.9")]
    )
    await sync_to_async(create_project)(tenant_a, "Browser Language")
    assert "프로젝트 생성" in await receive(korean_browser)
    assert "Project created" in await receive(english_browser)
    await korean_browser.disconnect()
    await english_browser.disconnect()


async def test_members_do_not_see_invitations_in_the_feed_but_admins_do(tenant_a: Tenant) -> None:
    member, admin = await watch_org(tenant_a, "member"), await watch_org(tenant_a, "admin")

    @sync_to_async
    def invite() -> None:
        actions.invite_member(
            actor=Actor(user=tenant_a.owner),
            organization=tenant_a.organization,
            email="newcomer@example.com",
            role=Role.MEMBER,
            base_url="http://testserver/",
        )

    await invite()
    await sync_to_async(sentinel)(tenant_a, "After Invitation")
    assert "newcomer@example.com" in await receive(admin)
    first = await receive(member)
    assert "After Invitation" in first
    assert "newcomer" not in first
    await member.disconnect()
    await admin.disconnect()


# Leaving and being removed ------------------------------------------------------------------------------------------


async def test_removed_member_is_disconnected_and_gets_nothing_more(tenant_a: Tenant) -> None:
    org_socket = await watch_org(tenant_a, "member")
    project_socket = await open_socket(live.socket_path(tenant_a.project), tenant_a.member)

    @sync_to_async
    def remove() -> None:
        actions.remove_member(
            actor=Actor(user=tenant_a.owner),
            organization=tenant_a.organization,
            membership_id=tenant_a.membership("member").pk,
        )

    await remove()
    assert await closed_with(org_socket) == live.CLOSE_NOT_A_MEMBER
    assert await closed_with(project_socket) == live.CLOSE_NOT_A_MEMBER


async def test_leaving_closes_the_sockets_of_that_organization_only(tenant_a: Tenant, tenant_b: Tenant) -> None:
    @sync_to_async
    def also_in_b() -> None:
        Membership.objects.create(user=tenant_a.member, organization=tenant_b.organization, role=Role.MEMBER)

    await also_in_b()
    in_a = await watch_org(tenant_a, "member")
    in_b = await open_socket(live.socket_path(tenant_b.organization), tenant_a.member)

    @sync_to_async
    def leave_a() -> None:
        actions.remove_member(
            actor=Actor(user=tenant_a.member),
            organization=tenant_a.organization,
            membership_id=tenant_a.membership("member").pk,
        )

    await leave_a()
    assert await closed_with(in_a) == live.CLOSE_NOT_A_MEMBER
    await sync_to_async(sentinel)(tenant_b, "Still Watching")
    assert "Still Watching" in await receive(in_b)
    await in_b.disconnect()


async def test_close_message_for_another_organization_leaves_the_socket_open(tenant_a: Tenant) -> None:
    socket = await watch_org(tenant_a, "member")

    @sync_to_async
    def close_elsewhere() -> None:
        with transaction.atomic():
            live.close_user(tenant_a.member.pk, "00000000-0000-4000-8000-000000000000")

    await close_elsewhere()
    await sync_to_async(sentinel)(tenant_a, "Open Still")
    assert "Open Still" in await receive(socket)
    await socket.disconnect()


# live.publish -------------------------------------------------------------------------------------------------------


def _listen(group: str) -> tuple[object, str]:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return layer, channel


@pytest.mark.django_db
def test_publish_waits_for_the_commit_and_sends_ids_only(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    layer, channel = _listen("org.publish-test")
    with django_capture_on_commit_callbacks() as callbacks:
        live.publish("org.publish-test", "project", 42)
    assert len(callbacks) == 1  # sent by the callback, after the commit
    callbacks[0]()
    message = async_to_sync(layer.receive)(channel)
    assert re.fullmatch(r"[0-9a-f]{32}", message.pop("id"))  # the event's id: its watchers share its renders
    assert message == {"type": "live.event", "kind": "project", "pk": "42"}


def test_publish_in_a_rolled_back_transaction_sends_nothing(tenant_a: Tenant) -> None:
    layer, channel = _listen(tenant_a.organization.live_group)
    with pytest.raises(RuntimeError), transaction.atomic():
        live.publish(tenant_a.organization, "activity", 1)
        raise RuntimeError("rolled back")
    live.publish(tenant_a.organization, "activity", 2)  # no transaction: sent at once
    assert async_to_sync(layer.receive)(channel)["pk"] == "2"


@pytest.mark.django_db
def test_audit_record_publishes_activity_to_the_organization_and_the_project(
    tenant_a: Tenant,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    org_layer, org_channel = _listen(tenant_a.organization.live_group)
    _layer, project_channel = _listen(tenant_a.project.live_group)
    with django_capture_on_commit_callbacks(execute=True):
        event = record(Actor(user=tenant_a.owner), "project.update", project=tenant_a.project, target=tenant_a.project)
    expected = {"type": "live.event", "kind": "activity", "pk": str(event.pk)}
    to_org = async_to_sync(org_layer.receive)(org_channel)
    to_project = async_to_sync(org_layer.receive)(project_channel)
    assert to_org.pop("id") != to_project.pop("id")
    assert to_org == expected
    assert to_project == expected


@pytest.mark.django_db
def test_close_user_is_sent_to_the_users_group_after_commit(
    tenant_a: Tenant,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    layer, channel = _listen(live.user_group(tenant_a.member.pk))
    with django_capture_on_commit_callbacks(execute=True):
        live.close_user(tenant_a.member.pk, tenant_a.organization.pk)
    assert async_to_sync(layer.receive)(channel) == {
        "type": "live.close",
        "organization": str(tenant_a.organization.pk),
    }


def test_group_names_and_socket_paths(tenant_a: Tenant) -> None:
    org, project = tenant_a.organization, tenant_a.project
    assert org.live_group == f"org.{org.pk}"
    assert project.live_group == f"project.{project.pk}"
    assert live.user_group(7) == "user.7"
    assert live.socket_path(org) == f"/ws/live/org/{org.pk}/"
    assert live.socket_path(project) == f"/ws/live/project/{project.pk}/"
    with pytest.raises(ValueError):
        live.socket_path(live.user_group(7))


async def test_signed_out_session_gets_nothing_more(tenant_a: Tenant) -> None:
    """Signing out (or ending the session from the account's sessions page) deletes the session: the socket opened
    with it closes at the next event instead of rendering it."""
    cookie = await sync_to_async(session_cookie)(tenant_a.member)
    session_key = cookie.decode().split("=", 1)[1]
    socket = WebsocketCommunicator(
        application,
        live.socket_path(tenant_a.organization),
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)],
    )
    connected, _subprotocol = await socket.connect(timeout=RECEIVE_TIMEOUT)
    assert connected
    await Session.objects.filter(session_key=session_key).adelete()
    await sync_to_async(sentinel)(tenant_a, "After Sign Out")
    assert await closed_with(socket) == live.CLOSE_NOT_A_MEMBER


# Shared renders -------------------------------------------------------------------------------------------------------


async def test_activity_and_the_project_list_are_rendered_once_per_role_and_language(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three members and an admin watch the organisation: the new project's activity and the project list are
    rendered once for the members and once for the admin (their buttons differ), not once per socket."""
    renders: list[str] = []
    for kind in ("activity", "project"):
        shared = live.renderer_for(kind)
        assert isinstance(shared, live.Shared)

        def counted(page, pk, render=shared.render, kind=kind):  # type: ignore[no-untyped-def]
            renders.append(kind)
            return render(page, pk)

        monkeypatch.setitem(live._renderers, kind, live.Shared(render=counted))

    @sync_to_async
    def more_members() -> list[User]:
        users = [make_user(f"member{n}@studio-a.example.com") for n in (2, 3)]
        for user in users:
            Membership.objects.create(user=user, organization=tenant_a.organization, role=Role.MEMBER)
        return users

    members = [tenant_a.member, *await more_members()]
    sockets = [await open_socket(live.socket_path(tenant_a.organization), user) for user in members]
    admin = await watch_org(tenant_a, "admin")
    await sync_to_async(create_project)(tenant_a, "Shared Render", role="owner")
    activity = [await receive(socket) for socket in [*sockets, admin]]
    projects = [await receive(socket) for socket in [*sockets, admin]]
    assert len(set(activity[:3])) == 1 and "Shared Render" in activity[0]
    assert len(set(projects[:3])) == 1 and "/settings/" not in projects[0]
    assert "/o/studio-a/shared-render/settings/" in projects[3]  # the admin's own render
    assert sorted(renders) == ["activity", "activity", "project", "project"]
    for socket in [*sockets, admin]:
        await socket.disconnect()
