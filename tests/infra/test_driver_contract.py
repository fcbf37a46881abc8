"""The driver contract: what every `CloudDriver` must do, proven on each provider by the same tests.

Every test takes the `cloud` fixture (tests/infra/conftest.py: the sandbox, and the local OpenStack marked
`openstack`) and talks to the driver only through the `CloudDriver` protocol (infra/providers/base.py). The
expectations follow what nova/neutron/keystone really do for the console's service user (which has the `member` role
in each cloud project): e.g. nova refuses a stop and a delete on a locked server with 409 for a member (it lets an
admin override a lock), and lets a locked server be renamed.

Servers take seconds to build on OpenStack, so related checks share one server per test function (a chained
lifecycle), and every test deletes what it made even when it fails. Nothing sleeps a fixed time: `wait_for_status`
polls with a growing interval until the cloud settles or the cloud's own timeout passes.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from infra.providers.base import (
    CloudDriver,
    CloudError,
    CloudServer,
    Conflict,
    Health,
    InvalidRequest,
    NotFound,
    ProjectSpec,
    QuotaExceeded,
    Quotas,
    ServerAction,
    ServerSpec,
    Status,
)
from tests.infra.clouds import (
    CloudUnderTest,
    md5_fingerprint,
    poll,
    ssh_public_key,
    wait_for_status,
    wait_until_gone,
)
from tests.integration.openstack.cloud import TENANT_CIDR

# --- helpers -------------------------------------------------------------------------------------------------------


def act(cloud: CloudUnderTest, server_id: str, kind: str, **options: object) -> None:
    cloud.driver.server_action(cloud.project_id, server_id, ServerAction(kind=kind, **options))  # type: ignore[arg-type]


def spec_for(cloud: CloudUnderTest, name: str, **overrides: object) -> ServerSpec:
    values: dict[str, object] = {
        "name": name,
        "flavor_id": cloud.flavor_id,
        "image_id": cloud.image_id,
        "request_id": str(uuid.uuid4()),
        "network_ids": (cloud.network_id,),
    }
    values.update(overrides)
    return ServerSpec(**values)  # type: ignore[arg-type]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cleanup_server(driver: CloudDriver, project_id: str, server_id: str) -> None:
    """Best effort, for a test that failed half-way: unlock, then delete (the session sweep catches the rest)."""
    for call in (
        lambda: driver.server_action(project_id, server_id, ServerAction(kind="unlock")),
        lambda: driver.delete_server(project_id, server_id),
    ):
        with suppress(CloudError):
            call()


@contextmanager
def server_made(cloud: CloudUnderTest, spec: ServerSpec) -> Iterator[CloudServer]:
    """Create a server for a test and make sure it is deleted afterwards, whatever the test did."""
    server = cloud.driver.create_server(cloud.project_id, spec)
    try:
        yield server
    finally:
        cleanup_server(cloud.driver, cloud.project_id, server.id)


def readable(error: CloudError) -> str:
    """The error's message, checked to be something a person can read (not empty, not a class repr)."""
    message = str(error)
    assert message and len(message) >= 10, repr(message)
    assert "object at 0x" not in message and not message.startswith("<"), message
    return message


# --- the region, projects, networks, quotas ------------------------------------------------------------------------


def test_check_health_is_up_with_latency(cloud: CloudUnderTest) -> None:
    report = cloud.driver.check_health()
    assert report.health == Health.UP, report.message
    assert report.latency_ms is not None and report.latency_ms >= 0


def test_ensure_project_is_idempotent_and_get_project_reads_it(cloud: CloudUnderTest) -> None:
    project = cloud.driver.get_project(cloud.project_id)
    assert project.id == cloud.project_id
    assert project.name and project.enabled
    # Asking again by the same name makes nothing new (no second project left behind on a real cloud either).
    again = cloud.driver.ensure_project(ProjectSpec(name=project.name))
    twice = cloud.driver.ensure_project(ProjectSpec(name=project.name))
    assert again.id == twice.id == cloud.project_id
    assert again.name == project.name
    cloud.driver.grant_access(cloud.project_id)  # idempotent too


def test_get_project_of_an_unknown_id_is_not_found(cloud: CloudUnderTest) -> None:
    with pytest.raises(NotFound) as caught:
        cloud.driver.get_project(uuid.uuid4().hex)
    assert caught.value.permanent
    readable(caught.value)


def test_ensure_default_network_is_idempotent(cloud: CloudUnderTest) -> None:
    first = cloud.driver.ensure_default_network(cloud.project_id, cidr=TENANT_CIDR)
    second = cloud.driver.ensure_default_network(cloud.project_id, cidr=TENANT_CIDR)
    assert first == second
    assert first.network_id == cloud.network_id
    assert first.subnet_id and first.router_id
    assert ipaddress.ip_network(first.cidr) == ipaddress.ip_network(TENANT_CIDR)


def test_set_quotas_then_get_quotas(cloud: CloudUnderTest) -> None:
    before = cloud.driver.get_quotas(cloud.project_id)
    wanted = Quotas(instances=17, cores=37, ram_mb=77 * 1024, key_pairs=57, ports=67)
    try:
        cloud.driver.set_quotas(cloud.project_id, wanted)
        got = cloud.driver.get_quotas(cloud.project_id)
        assert (got.instances, got.cores, got.ram_mb, got.key_pairs, got.ports) == (17, 37, 77 * 1024, 57, 67)
        # None leaves a limit as it is.
        cloud.driver.set_quotas(cloud.project_id, Quotas(instances=18))
        got = cloud.driver.get_quotas(cloud.project_id)
        assert (got.instances, got.cores) == (18, 37)
    finally:
        cloud.driver.set_quotas(cloud.project_id, before)
    assert cloud.driver.get_quotas(cloud.project_id) == before


# --- the catalog and key pairs -------------------------------------------------------------------------------------


def test_list_flavors_has_the_flavors_with_their_sizes(cloud: CloudUnderTest) -> None:
    flavors = {flavor.id: flavor for flavor in cloud.driver.list_flavors()}
    small, bigger = flavors[cloud.flavor_id], flavors[cloud.bigger_flavor_id]
    for flavor in (small, bigger):
        assert flavor.name
        assert flavor.vcpus >= 1 and flavor.ram_mb >= 64 and flavor.disk_gb >= 1
    assert bigger.ram_mb > small.ram_mb


def test_list_images_has_the_image_with_its_size(cloud: CloudUnderTest) -> None:
    images = {image.id: image for image in cloud.driver.list_images()}
    image = images[cloud.image_id]
    assert image.name
    assert image.status == "active"
    assert image.size_bytes > 0


def test_keypair_create_list_delete(cloud: CloudUnderTest) -> None:
    driver, project_id = cloud.driver, cloud.project_id
    name = unique("hn-test-key")
    public_key = ssh_public_key()
    made = driver.create_keypair(project_id, name, public_key)
    try:
        assert made.name == name
        assert made.fingerprint == md5_fingerprint(public_key)
        assert made.public_key.split()[:2] == public_key.split()[:2]
        listed = {keypair.name: keypair for keypair in driver.list_keypairs(project_id)}
        assert listed[name].fingerprint == made.fingerprint
        # The same name again is refused: key pairs are never silently replaced.
        with pytest.raises(Conflict):
            driver.create_keypair(project_id, name, ssh_public_key())
    finally:
        driver.delete_keypair(project_id, name)
    assert name not in {keypair.name for keypair in driver.list_keypairs(project_id)}
    driver.delete_keypair(project_id, name)  # a missing key pair is not an error


def test_keypair_with_an_invalid_public_key_is_refused(cloud: CloudUnderTest) -> None:
    name = unique("hn-test-key")
    with pytest.raises(InvalidRequest) as caught:
        cloud.driver.create_keypair(cloud.project_id, name, "ssh-ed25519 not-base64-at-all")
    readable(caught.value)
    assert name not in {keypair.name for keypair in cloud.driver.list_keypairs(cloud.project_id)}


# --- servers -------------------------------------------------------------------------------------------------------


def test_server_create_find_list_rename_console_delete(cloud: CloudUnderTest) -> None:
    driver, project_id = cloud.driver, cloud.project_id
    key_name = unique("hn-test-key")
    public_key = ssh_public_key()
    driver.create_keypair(project_id, key_name, public_key)
    spec = spec_for(cloud, unique("hn-contract"), keypair_name=key_name)
    try:
        with server_made(cloud, spec) as made:
            assert made.status == Status.BUILDING
            assert made.id and made.request_id == spec.request_id

            found = driver.find_server(project_id, request_id=spec.request_id)
            assert found is not None and found.id == made.id
            assert driver.find_server(project_id, request_id=str(uuid.uuid4())) is None

            server = wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)
            assert server.name == spec.name
            assert server.request_id == spec.request_id
            assert (server.flavor_id, server.image_id) == (cloud.flavor_id, cloud.image_id)
            assert server.keypair_name == key_name
            assert server.locked is False and server.fault is None
            assert server.created_at is not None
            fixed = [address for address in server.addresses if address.kind == "fixed"]
            assert len(fixed) == 1, server.addresses
            assert fixed[0].version == 4
            assert ipaddress.ip_address(fixed[0].ip) in ipaddress.ip_network(TENANT_CIDR)

            assert made.id in {listed.id for listed in driver.list_servers(project_id)}

            # Starting a running server is a conflict, not a silent success.
            with pytest.raises(Conflict) as caught:
                act(cloud, made.id, "start")
            assert caught.value.permanent
            readable(caught.value)

            new_name = unique("hn-contract-renamed")
            act(cloud, made.id, "rename", name=new_name)
            assert driver.get_server(project_id, made.id).name == new_name

            log = driver.console_log(project_id, made.id, lines=50)
            assert isinstance(log, str) and log.strip()
            assert len(log.splitlines()) <= 50

            driver.delete_server(project_id, made.id)
            wait_until_gone(cloud, made.id)
            assert made.id not in {listed.id for listed in driver.list_servers(project_id)}
            assert driver.find_server(project_id, request_id=spec.request_id) is None
            driver.delete_server(project_id, made.id)  # deleting a deleted server is not an error
            with pytest.raises(NotFound):
                act(cloud, made.id, "stop")
    finally:
        driver.delete_keypair(project_id, key_name)


def test_power_actions_lock_and_rebuild(cloud: CloudUnderTest) -> None:
    driver, project_id = cloud.driver, cloud.project_id
    with server_made(cloud, spec_for(cloud, unique("hn-contract-power"))) as made:
        wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)

        act(cloud, made.id, "stop")
        wait_for_status(cloud, made.id, {Status.STOPPED}, cloud.timeout)
        with pytest.raises(Conflict):
            act(cloud, made.id, "stop")  # already stopped
        act(cloud, made.id, "start")
        wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)

        act(cloud, made.id, "reboot")
        wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)
        act(cloud, made.id, "reboot", hard=True)
        wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)

        # A locked server refuses lifecycle actions and deletion (nova: 409 "Instance … is locked" for a member of
        # the project — an admin could override the lock, the console's service user is not one in its projects);
        # renaming is allowed, as nova allows it.
        act(cloud, made.id, "lock")
        assert driver.get_server(project_id, made.id).locked is True
        with pytest.raises(Conflict) as caught:
            act(cloud, made.id, "stop")
        assert "lock" in readable(caught.value).lower()
        with pytest.raises(Conflict):
            driver.delete_server(project_id, made.id)
        assert driver.get_server(project_id, made.id).status == Status.ACTIVE
        act(cloud, made.id, "unlock")
        assert driver.get_server(project_id, made.id).locked is False

        act(cloud, made.id, "rebuild", image_id=cloud.image_id)
        rebuilt = wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)
        assert rebuilt.image_id == cloud.image_id
        assert rebuilt.request_id == made.request_id  # the tag survives a rebuild


def test_resize_revert_then_resize_confirm(cloud: CloudUnderTest) -> None:
    driver, project_id = cloud.driver, cloud.project_id
    with server_made(cloud, spec_for(cloud, unique("hn-contract-resize"))) as made:
        wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)
        with pytest.raises(Conflict):
            act(cloud, made.id, "confirm_resize")  # nothing to confirm

        act(cloud, made.id, "resize", flavor_id=cloud.bigger_flavor_id)
        resized = wait_for_status(cloud, made.id, {Status.VERIFY_RESIZE}, cloud.timeout)
        assert resized.flavor_id == cloud.bigger_flavor_id
        act(cloud, made.id, "revert_resize")
        reverted = wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)
        assert reverted.flavor_id == cloud.flavor_id

        act(cloud, made.id, "resize", flavor_id=cloud.bigger_flavor_id)
        resized = wait_for_status(cloud, made.id, {Status.VERIFY_RESIZE}, cloud.timeout)
        assert resized.flavor_id == cloud.bigger_flavor_id
        act(cloud, made.id, "confirm_resize")
        confirmed = wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)
        assert confirmed.flavor_id == cloud.bigger_flavor_id
        assert driver.get_server(project_id, made.id).flavor_id == cloud.bigger_flavor_id


def test_get_server_of_an_unknown_id_is_not_found(cloud: CloudUnderTest) -> None:
    with pytest.raises(NotFound) as caught:
        cloud.driver.get_server(cloud.project_id, str(uuid.uuid4()))
    assert caught.value.permanent
    readable(caught.value)
    cloud.driver.delete_server(cloud.project_id, str(uuid.uuid4()))  # deleting what is not there is fine


@pytest.mark.parametrize("wrong", ["flavor_id", "image_id"])
def test_create_with_an_unknown_flavor_or_image_is_a_permanent_error(cloud: CloudUnderTest, wrong: str) -> None:
    missing = str(uuid.uuid4())
    spec = spec_for(cloud, unique("hn-contract-bad"), **{wrong: missing})
    try:
        with pytest.raises((InvalidRequest, NotFound)) as caught:
            cloud.driver.create_server(cloud.project_id, spec)
        assert caught.value.permanent
        message = readable(caught.value)
        if wrong == "flavor_id":
            assert missing in message  # nova names the flavor; for an image it says only "Can not find requested image"
        assert cloud.driver.find_server(cloud.project_id, request_id=spec.request_id) is None
    finally:
        left = cloud.driver.find_server(cloud.project_id, request_id=spec.request_id)
        if left is not None:
            cleanup_server(cloud.driver, cloud.project_id, left.id)


def test_quota_exceeded(cloud: CloudUnderTest) -> None:
    driver, project_id = cloud.driver, cloud.project_id
    before = driver.get_quotas(project_id)

    # Servers still being deleted count until they are gone (nova even lists one as DELETED for a moment before it
    # vanishes): wait for them, so the count cannot change under us.
    def settled_servers() -> tuple[list[CloudServer]] | None:
        servers = driver.list_servers(project_id)
        going = any(server.status in (Status.DELETING, Status.DELETED) for server in servers)
        return None if going else (servers,)

    (servers,) = poll("no server being deleted", settled_servers, cloud.timeout)
    count = len(servers)
    spec = spec_for(cloud, unique("hn-contract-quota"))
    try:
        driver.set_quotas(project_id, Quotas(instances=count))
        with pytest.raises(QuotaExceeded) as caught:
            made = driver.create_server(project_id, spec)
            now = [(server.name, server.status, server.task_state) for server in driver.list_servers(project_id)]
            seen = [(server.name, server.status, server.task_state) for server in servers]
            pytest.fail(f"created {made.id} with {count} instances allowed; servers before {seen}, now {now}")
        assert caught.value.permanent
        assert "instances" in readable(caught.value).lower()
        assert driver.find_server(project_id, request_id=spec.request_id) is None
    finally:
        driver.set_quotas(project_id, Quotas(instances=before.instances))
        left = driver.find_server(project_id, request_id=spec.request_id)
        if left is not None:
            cleanup_server(driver, project_id, left.id)
