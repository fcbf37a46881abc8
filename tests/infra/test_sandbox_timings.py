"""The sandbox's clock: a server's state is derived from when its transition started and how long it takes (scaled
by the region's `speed`), at the moment it is read, with no process advancing it. Tests move a transition's start
back in time instead of sleeping."""

from __future__ import annotations

import uuid

import pytest

from infra.providers.base import CloudServer, Conflict, ServerAction, ServerSpec, Status
from infra.providers.sandbox.driver import SandboxDriver
from infra.providers.sandbox.models import SandboxServer
from tests.infra.clouds import CloudUnderTest
from tests.infra.sandbox_cloud import rewind, sandbox_cloud

pytestmark = pytest.mark.django_db


@pytest.fixture
def slow() -> CloudUnderTest:
    """A sandbox at real speed (1.0): a build takes 4 s unless a test moves the clock."""
    yield from sandbox_cloud(speed=1.0)


def create(cloud: CloudUnderTest, name: str = "timed") -> CloudServer:
    spec = ServerSpec(
        name=name,
        flavor_id=cloud.flavor_id,
        image_id=cloud.image_id,
        request_id=str(uuid.uuid4()),
        network_ids=(cloud.network_id,),
    )
    return cloud.driver.create_server(cloud.project_id, spec)


def status(cloud: CloudUnderTest, server_id: str) -> Status:
    return cloud.driver.get_server(cloud.project_id, server_id).status


def act(cloud: CloudUnderTest, server_id: str, kind: str, **options: object) -> None:
    cloud.driver.server_action(cloud.project_id, server_id, ServerAction(kind=kind, **options))  # type: ignore[arg-type]


def test_a_build_takes_four_seconds_at_speed_one_derived_when_read(slow: CloudUnderTest) -> None:
    server = create(slow)
    assert server.status == Status.BUILDING and server.cloud_status == "BUILD" and server.task_state == "spawning"
    rewind(server.id, 3.5)
    assert status(slow, server.id) == Status.BUILDING
    rewind(server.id, 0.6)
    seen = slow.driver.get_server(slow.project_id, server.id)
    assert (seen.status, seen.cloud_status, seen.task_state) == (Status.ACTIVE, "ACTIVE", None)
    # Reading changed nothing in the table: the state is derived, not stored by a reader.
    row = SandboxServer.objects.get(pk=server.id)
    assert row.task == "build" and row.status == Status.BUILDING


@pytest.mark.parametrize(
    ("kind", "options", "seconds", "during", "after"),
    [
        ("stop", {}, 2.0, Status.STOPPING, Status.STOPPED),
        ("reboot", {}, 3.0, Status.REBOOTING, Status.ACTIVE),
        ("reboot", {"hard": True}, 4.0, Status.REBOOTING, Status.ACTIVE),
        ("resize", {}, 5.0, Status.RESIZING, Status.VERIFY_RESIZE),
        ("rebuild", {}, 5.0, Status.REBUILDING, Status.ACTIVE),
    ],
)
def test_each_action_takes_its_time(
    slow: CloudUnderTest, kind: str, options: dict, seconds: float, during: Status, after: Status
) -> None:
    server = create(slow)
    rewind(server.id, 4.1)
    if kind == "resize":
        options = {"flavor_id": slow.bigger_flavor_id}
    if kind == "rebuild":
        options = {"image_id": slow.image_id}
    act(slow, server.id, kind, **options)
    assert status(slow, server.id) == during
    rewind(server.id, seconds - 0.3)
    assert status(slow, server.id) == during
    rewind(server.id, 0.4)
    assert status(slow, server.id) == after


def test_start_confirm_revert_and_delete_take_their_time(slow: CloudUnderTest) -> None:
    server = create(slow)
    rewind(server.id, 4.1)
    act(slow, server.id, "stop")
    rewind(server.id, 2.1)
    act(slow, server.id, "start")
    assert status(slow, server.id) == Status.STARTING
    rewind(server.id, 2.1)
    assert status(slow, server.id) == Status.ACTIVE

    act(slow, server.id, "resize", flavor_id=slow.bigger_flavor_id)
    rewind(server.id, 5.1)
    act(slow, server.id, "revert_resize")
    reverting = slow.driver.get_server(slow.project_id, server.id)
    assert (reverting.status, reverting.flavor_id) == (Status.REVERTING, slow.bigger_flavor_id)
    rewind(server.id, 3.1)
    reverted = slow.driver.get_server(slow.project_id, server.id)
    assert (reverted.status, reverted.flavor_id) == (Status.ACTIVE, slow.flavor_id)

    act(slow, server.id, "resize", flavor_id=slow.bigger_flavor_id)
    rewind(server.id, 5.1)
    act(slow, server.id, "confirm_resize")
    assert status(slow, server.id) == Status.VERIFY_RESIZE  # as nova: no other status while confirming
    rewind(server.id, 1.1)
    confirmed = slow.driver.get_server(slow.project_id, server.id)
    assert (confirmed.status, confirmed.flavor_id) == (Status.ACTIVE, slow.bigger_flavor_id)

    slow.driver.delete_server(slow.project_id, server.id)
    deleting = slow.driver.get_server(slow.project_id, server.id)
    assert (deleting.status, deleting.task_state) == (Status.DELETING, "deleting")
    rewind(server.id, 2.1)
    assert server.id not in {s.id for s in slow.driver.list_servers(slow.project_id)}


def test_speed_divides_every_duration(slow: CloudUnderTest) -> None:
    slow.region.settings = {**slow.region.settings, "speed": 4.0}
    slow.region.save(update_fields=["settings"])
    server = create(slow)
    assert SandboxServer.objects.get(pk=server.id).task_seconds == pytest.approx(1.0)  # 4 s / 4
    rewind(server.id, 1.05)
    assert status(slow, server.id) == Status.ACTIVE


def test_timings_override_a_base_duration(slow: CloudUnderTest) -> None:
    slow.region.settings = {**slow.region.settings, "speed": 2.0, "timings": {"build": 30}}
    slow.region.save(update_fields=["settings"])
    server = create(slow)
    assert SandboxServer.objects.get(pk=server.id).task_seconds == pytest.approx(15.0)


def test_a_speed_change_does_not_move_a_transition_already_running(slow: CloudUnderTest) -> None:
    server = create(slow)
    slow.region.settings = {**slow.region.settings, "speed": 1000.0}
    slow.region.save(update_fields=["settings"])
    assert status(slow, server.id) == Status.BUILDING  # it started at speed 1: it still takes 4 s


def test_actions_during_a_transition_are_refused_until_it_ends(slow: CloudUnderTest) -> None:
    server = create(slow)
    with pytest.raises(Conflict, match="task_state spawning"):
        act(slow, server.id, "stop")
    rewind(server.id, 4.1)
    act(slow, server.id, "stop")
    with pytest.raises(Conflict, match="powering-off"):
        act(slow, server.id, "start")
    # A writer applies the finished transition for good.
    rewind(server.id, 2.1)
    act(slow, server.id, "start")
    row = SandboxServer.objects.get(pk=server.id)
    assert (row.status, row.task) == (Status.STOPPED, "start")


def test_it_works_with_a_fresh_driver_object_each_time(slow: CloudUnderTest) -> None:
    """Nothing lives in the driver object: any worker (a new process, a new driver) sees the same state."""
    server = create(slow)
    rewind(server.id, 4.1)
    assert SandboxDriver(slow.region).get_server(slow.project_id, server.id).status == Status.ACTIVE
