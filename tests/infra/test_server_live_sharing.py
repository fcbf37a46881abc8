"""Many watchers, few renders: a server event is checked for every connection, loaded once, and rendered once per
variant (language, time zone, role, and whether the server's key pair links for that user), through the production
ASGI stack on the real Redis channel layer. A removed member gets nothing and is closed; a viewer gets no buttons."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.db.backends import utils as db_utils

from console.core import live
from infra import live as infra_live
from infra.models import Keypair, Server
from infra.providers.base import Status
from tenants.models import Membership, Role, User
from tests.conftest import Tenant, make_user
from tests.console.test_live import closed_with, open_socket, receive
from tests.infra.test_server_list import make_server
from tests.infra.test_server_list import sandbox as sandbox

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_consumer_connections() -> AsyncIterator[None]:
    yield
    await sync_to_async(connections.close_all)()


class Counted:
    """The server kind's load and render, counted (both run in the consumers' worker thread)."""

    def __init__(self) -> None:
        self.loads = 0
        self.renders = 0
        self.lock = threading.Lock()

    def load(self, page: object, pk: str) -> object:
        with self.lock:
            self.loads += 1
        return infra_live.load_server(page, pk)

    def render(self, page: object, event: infra_live.ServerEvent) -> list[str]:
        with self.lock:
            self.renders += 1
        return infra_live.render_server(page, event)  # type: ignore[arg-type]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counted]:
    counter = Counted()
    shared = live.Shared(load=counter.load, render=counter.render, variant=infra_live.server_variant)
    monkeypatch.setitem(live._renderers, infra_live.SERVER, shared)
    yield counter


def member(tenant: Tenant, email: str, *, role: str = Role.MEMBER, **fields: object) -> User:
    user = make_user(email, **fields)
    Membership.objects.create(user=user, organization=tenant.organization, role=role)
    return user


async def watch(tenant: Tenant, user: User) -> WebsocketCommunicator:
    return await open_socket(live.socket_path(tenant.project), user)


@sync_to_async
def stop(server: Server) -> None:
    assert server.transition(Status.STOPPING, allowed={Status.ACTIVE}, pending={"op": "stop"})


async def server_event(socket: WebsocketCommunicator) -> tuple[str, str]:
    """The two messages of a server event: the list's row (with the counts), then the server page's parts."""
    row, detail = await receive(socket), await receive(socket)
    assert row.startswith("<tr ") and f'id="server-{server_id(row)}-header"' in detail
    return row, detail


def server_id(row: str) -> str:
    return re.search(r'id="server-row-([0-9a-f-]+)"', row).group(1)


async def close_all(*sockets: WebsocketCommunicator) -> None:
    for socket in sockets:
        await socket.disconnect()


async def test_watchers_of_one_variant_share_one_load_and_one_render(sandbox, tenant_a: Tenant, counted: Counted):
    server = await sync_to_async(make_server)(tenant_a, sandbox, "web-1")
    other = await sync_to_async(member)(tenant_a, "second.member@studio-a.example.com")
    sockets = [await watch(tenant_a, tenant_a.member), await watch(tenant_a, other)]
    await stop(server)
    first, second = [await server_event(socket) for socket in sockets]
    assert f'id="server-row-{server.pk}"' in first[0] and 'data-status="STOPPING"' in first[1]
    assert first == second
    assert (counted.loads, counted.renders) == (1, 1)
    await close_all(*sockets)


async def test_each_language_and_role_gets_its_own_render_and_a_viewer_no_buttons(
    sandbox, tenant_a: Tenant, counted: Counted
):
    server = await sync_to_async(make_server)(tenant_a, sandbox, "web-1")
    korean = await sync_to_async(member)(tenant_a, "minji@studio-a.example.com", language="ko")
    second_viewer = await sync_to_async(member)(tenant_a, "second.viewer@studio-a.example.com", role=Role.VIEWER)
    users = (tenant_a.member, korean, tenant_a.viewer, second_viewer)
    sockets = [await watch(tenant_a, user) for user in users]
    await stop(server)
    english, hangul, viewer, viewer_again = ["".join(await server_event(socket)) for socket in sockets]
    assert (counted.loads, counted.renders) == (1, 3)  # member/en, member/ko, viewer/en
    assert "Stopping" in english and "중지 중" in hangul
    assert 'data-op="start"' in english and 'name="ids"' in english
    assert 'data-op="start"' in hangul
    assert viewer == viewer_again
    assert "data-op=" not in viewer and 'name="ids"' not in viewer and "<form" not in viewer
    await close_all(*sockets)


async def test_a_removed_member_gets_nothing_and_is_closed_while_the_others_get_the_event(
    sandbox, tenant_a: Tenant, counted: Counted
):
    server = await sync_to_async(make_server)(tenant_a, sandbox, "web-1")
    leaving = await sync_to_async(member)(tenant_a, "leaving@studio-a.example.com")
    staying, gone = await watch(tenant_a, tenant_a.member), await watch(tenant_a, leaving)
    # Removed behind the channel's back (no close message): the check made for the event itself finds it out.
    await Membership.objects.filter(user=leaving).adelete()
    await stop(server)
    assert await closed_with(gone) == live.CLOSE_NOT_A_MEMBER
    assert server_id((await server_event(staying))[0]) == str(server.pk)
    assert counted.renders == 1
    await close_all(staying)


async def test_a_key_pairs_link_is_shown_to_its_owner_only_so_members_do_not_share_that_render(
    sandbox, tenant_a: Tenant, counted: Counted
):
    other = await sync_to_async(member)(tenant_a, "second.member@studio-a.example.com")

    @sync_to_async
    def server_with_the_members_key() -> Server:
        keypair = Keypair.objects.create(
            project=tenant_a.project,
            user=tenant_a.member,
            name="laptop",
            public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIlaptop member@laptop",
            key_type=Keypair.Type.ED25519,
            bits=256,
            fingerprint="SHA256:laptop",
        )
        return make_server(tenant_a, sandbox, "web-1", keypair=keypair)

    server = await server_with_the_members_key()
    keypair_link = re.compile(rf'href="[^"]*/keypairs/{server.keypair_id}/"')
    owner_of_key, other_member, admin = [await watch(tenant_a, u) for u in (tenant_a.member, other, tenant_a.admin)]
    await stop(server)
    mine, theirs, admins = ["".join(await server_event(s)) for s in (owner_of_key, other_member, admin)]
    assert keypair_link.search(mine) and keypair_link.search(admins)
    assert not keypair_link.search(theirs) and "laptop" in theirs  # the name, not a link
    assert counted.renders == 3  # member with the link, member without, admin
    await close_all(owner_of_key, other_member, admin)


class QueryCounter:
    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> QueryCounter:
    """Every SQL statement of every thread (the consumers' worker thread included)."""
    counter = QueryCounter()
    execute = db_utils.CursorWrapper.execute

    def counting(self: db_utils.CursorWrapper, sql: str, params: object = None) -> object:
        with counter.lock:
            counter.n += 1
        return execute(self, sql, params)

    monkeypatch.setattr(db_utils.CursorWrapper, "execute", counting)
    return counter


async def test_an_event_costs_the_same_queries_for_one_watcher_or_six(sandbox, tenant_a: Tenant, queries: QueryCounter):
    """The check (the project, the watchers' roles, their sessions) and the load (the server, the list's counts) are
    made once per event for all the process's watchers; rendering reads nothing more."""
    server = await sync_to_async(make_server)(tenant_a, sandbox, "web-1")

    async def cost(users: list[User]) -> int:
        sockets = [await watch(tenant_a, user) for user in users]
        before = queries.n
        await stop(server)
        for socket in sockets:
            assert server_id((await server_event(socket))[0]) == str(server.pk)
        spent = queries.n - before
        await close_all(*sockets)
        await Server.objects.filter(pk=server.pk).aupdate(status=Status.ACTIVE)
        return spent

    one = await cost([tenant_a.member])
    others = [await sync_to_async(member)(tenant_a, f"watcher{n}@studio-a.example.com") for n in range(3)]
    six = await cost([tenant_a.owner, tenant_a.admin, tenant_a.member, tenant_a.viewer, *others])
    transition = 4  # the transition itself: read the row, update it, read it back, its project (for the publish)
    assert one == six, (one, six)
    assert six <= transition + 3 + 2, six  # + the check (3) + the load (2)


async def test_an_event_without_an_id_is_still_checked_and_rendered_for_each_connection(sandbox, tenant_a: Tenant):
    """A message from before the event ids (a rolling deploy) is rendered for its connection alone."""
    from channels.layers import get_channel_layer

    server = await sync_to_async(make_server)(tenant_a, sandbox, "web-1")
    socket = await watch(tenant_a, tenant_a.viewer)
    await get_channel_layer().group_send(
        live.project_group(tenant_a.project.pk), {"type": live.EVENT, "kind": "server", "pk": str(server.pk)}
    )
    row, detail = await server_event(socket)
    assert server_id(row) == str(server.pk) and "data-op=" not in row + detail
    await socket.disconnect()
