"""Every state change of a server is announced on its project's live channel, after commit and never for a change
that rolled back (the message says what changed, by id; no HTML)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from console.core import live
from infra.models import Server
from infra.providers.base import Status
from tenants.audit import Actor
from tests.infra.engine import activate, sandbox_region, small_flavors, small_image


def listen(group: str) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def received(channel: str) -> list[dict]:
    """Every message waiting on the channel (stops after half a second of silence)."""
    layer = get_channel_layer()

    async def drain() -> list[dict]:
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
            except TimeoutError:
                return messages

    return async_to_sync(drain)()


@pytest.fixture
def server(tenant_a) -> Server:
    region = sandbox_region()
    cloud_project = activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, _ = small_flavors(region)
    return Server.objects.create(
        project=tenant_a.project, region=region, cloud_project=cloud_project, name="live-1", flavor=small,
        image=small_image(region, small), status=Status.BUILDING,
    )  # fmt: skip


def test_a_transition_is_announced_to_the_project_after_commit(server, django_capture_on_commit_callbacks):
    channel = listen(live.project_group(server.project_id))
    with django_capture_on_commit_callbacks(execute=True):
        assert server.transition(Status.ACTIVE, allowed={Status.BUILDING})
    server_events = [m for m in received(channel) if m.get("kind") == "server"]
    assert len(server_events) == 1 and server_events[0].pop("id")  # the event's id, by which watchers share renders
    assert server_events == [{"type": live.EVENT, "kind": "server", "pk": str(server.pk)}]


def test_a_transition_that_rolled_back_is_not_announced(server, django_capture_on_commit_callbacks):
    channel = listen(live.project_group(server.project_id))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        server.transition(Status.ACTIVE, allowed={Status.BUILDING})
        raise RuntimeError("the change failed")
    assert [m for m in received(channel) if m.get("kind") == "server"] == []
    assert Server.objects.get(pk=server.pk).status == Status.BUILDING
