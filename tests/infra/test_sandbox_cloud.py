"""What the sandbox cloud does beyond the driver contract: its catalogue, regions that never share rows, addresses
from the subnet, quotas with nova's words, nova's state and lock rules, the console log, and concurrent creates."""

from __future__ import annotations

import ipaddress
import threading
import uuid

import pytest
from django.db import connection

from infra.models import Region
from infra.providers.base import (
    Conflict,
    InvalidRequest,
    NotFound,
    ProjectSpec,
    QuotaExceeded,
    Quotas,
    ServerAction,
    ServerSpec,
    Status,
)
from infra.providers.sandbox.driver import SandboxDriver
from infra.providers.sandbox.models import SandboxPort
from tests.infra.clouds import CloudUnderTest, md5_fingerprint, ssh_public_key, wait_for_status, wait_until_gone
from tests.infra.sandbox_cloud import rewind, sandbox_cloud
from tests.integration.openstack.cloud import TENANT_CIDR

pytestmark = pytest.mark.django_db


@pytest.fixture
def cloud() -> CloudUnderTest:
    yield from sandbox_cloud()


def spec(cloud: CloudUnderTest, name: str = "web", **overrides: object) -> ServerSpec:
    values: dict[str, object] = {
        "name": name,
        "flavor_id": cloud.flavor_id,
        "image_id": cloud.image_id,
        "request_id": str(uuid.uuid4()),
        "network_ids": (cloud.network_id,),
    }
    values.update(overrides)
    return ServerSpec(**values)  # type: ignore[arg-type]


def running(cloud: CloudUnderTest, name: str = "web", **overrides: object) -> str:
    made = cloud.driver.create_server(cloud.project_id, spec(cloud, name, **overrides))
    wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)
    return made.id


def act(cloud: CloudUnderTest, server_id: str, kind: str, **options: object) -> None:
    cloud.driver.server_action(cloud.project_id, server_id, ServerAction(kind=kind, **options))  # type: ignore[arg-type]


def flavor_id(cloud: CloudUnderTest, name: str) -> str:
    return next(f.id for f in cloud.driver.list_flavors() if f.name == name)


def image_id(cloud: CloudUnderTest, name: str) -> str:
    return next(i.id for i in cloud.driver.list_images() if i.name == name)


# --- catalogue and regions -----------------------------------------------------------------------------------------


def test_a_new_region_has_a_realistic_catalogue(cloud: CloudUnderTest) -> None:
    flavors = {f.name: (f.vcpus, f.ram_mb, f.disk_gb) for f in cloud.driver.list_flavors()}
    assert flavors["g1.small"] == (1, 2048, 20)
    assert flavors["g1.medium"] == (2, 4096, 40)
    assert flavors["g1.large"] == (4, 8192, 80)
    assert flavors["c1.xlarge"] == (8, 16384, 80)
    images = {i.name: i for i in cloud.driver.list_images()}
    assert set(images) >= {"Ubuntu 24.04 LTS", "Ubuntu 22.04 LTS", "Debian 12", "Rocky Linux 9", "Windows Server 2022"}
    ubuntu = images["Ubuntu 24.04 LTS"]
    assert (ubuntu.os_distro, ubuntu.os_version, ubuntu.status) == ("ubuntu", "24.04", "active")
    assert all(image.size_bytes > 100 * 1024**2 for image in images.values())
    assert images["Windows Server 2022"].min_disk_gb == 40


def test_two_sandbox_regions_never_share_rows(cloud: CloudUnderTest) -> None:
    other = next(sandbox_cloud())
    assert {f.id for f in cloud.driver.list_flavors()}.isdisjoint({f.id for f in other.driver.list_flavors()})
    # The same project name in each region: two projects.
    name = f"hn-{uuid.uuid4()}"
    here, there = (c.driver.ensure_project(ProjectSpec(name=name)) for c in (cloud, other))
    assert here.id != there.id
    with pytest.raises(NotFound):
        other.driver.get_project(cloud.project_id)
    made = running(cloud)
    with pytest.raises(NotFound):
        other.driver.get_server(cloud.project_id, made)
    with pytest.raises(NotFound):
        other.driver.get_server(other.project_id, made)
    assert other.driver.list_servers(other.project_id) == []
    # A flavor of one region is unknown in the other.
    with pytest.raises(InvalidRequest):
        other.driver.create_server(other.project_id, spec(other, flavor_id=cloud.flavor_id))
    # Key pairs too.
    cloud.driver.create_keypair(cloud.project_id, "shared-name", ssh_public_key())
    other.driver.create_keypair(other.project_id, "shared-name", ssh_public_key())


def test_a_server_of_another_project_is_not_found(cloud: CloudUnderTest) -> None:
    made = running(cloud)
    neighbour = cloud.driver.ensure_project(ProjectSpec(name=f"hn-{uuid.uuid4()}"))
    with pytest.raises(NotFound):
        cloud.driver.get_server(neighbour.id, made)
    with pytest.raises(NotFound):
        cloud.driver.server_action(neighbour.id, made, ServerAction("stop"))
    assert cloud.driver.list_servers(neighbour.id) == []
    cloud.driver.delete_server(neighbour.id, made)  # "not there" for that project: nothing happens
    assert cloud.driver.get_server(cloud.project_id, made).status == Status.ACTIVE


def test_project_calls_on_an_unknown_project_are_not_found(cloud: CloudUnderTest) -> None:
    for call in (
        lambda: cloud.driver.list_servers("0" * 32),
        lambda: cloud.driver.get_quotas("not-a-project"),
        lambda: cloud.driver.grant_access(uuid.uuid4().hex),
        lambda: cloud.driver.ensure_default_network(uuid.uuid4().hex, cidr=TENANT_CIDR),
    ):
        with pytest.raises(NotFound, match="Could not find project"):
            call()


# --- networks and addresses ----------------------------------------------------------------------------------------


def test_addresses_come_from_the_subnet_unique_and_reused_after_delete(cloud: CloudUnderTest) -> None:
    network = ipaddress.ip_network(TENANT_CIDR)
    ids = [running(cloud, f"web-{n}") for n in range(3)]
    ips = [cloud.driver.get_server(cloud.project_id, i).addresses[0].ip for i in ids]
    assert len(set(ips)) == 3
    gateway, dhcp = str(next(network.hosts())), str(list(network.hosts())[1])
    for ip in ips:
        assert ipaddress.ip_address(ip) in network and ip not in (gateway, dhcp)
    address = cloud.driver.get_server(cloud.project_id, ids[0]).addresses[0]
    assert (address.kind, address.version, address.network) == ("fixed", 4, "hn-default")
    assert address.mac.startswith("fa:16:3e:")
    cloud.driver.delete_server(cloud.project_id, ids[1])
    wait_until_gone(cloud, ids[1])
    again = running(cloud, "web-again")
    assert cloud.driver.get_server(cloud.project_id, again).addresses[0].ip == ips[1]  # freed and taken again
    assert SandboxPort.objects.filter(server_id=ids[1]).count() == 0


def test_a_create_without_networks_takes_the_default_network(cloud: CloudUnderTest) -> None:
    made = cloud.driver.create_server(cloud.project_id, spec(cloud, network_ids=()))
    assert [a.network for a in made.addresses] == ["hn-default"]


def test_a_network_of_another_project_is_refused(cloud: CloudUnderTest) -> None:
    neighbour = cloud.driver.ensure_project(ProjectSpec(name=f"hn-{uuid.uuid4()}"))
    theirs = cloud.driver.ensure_default_network(neighbour.id, cidr="10.9.0.0/24")
    with pytest.raises(InvalidRequest, match=theirs.network_id):
        cloud.driver.create_server(cloud.project_id, spec(cloud, network_ids=(theirs.network_id,)))


def test_a_full_subnet_refuses_another_server(cloud: CloudUnderTest) -> None:
    tiny = cloud.driver.ensure_project(ProjectSpec(name=f"hn-{uuid.uuid4()}"))
    network = cloud.driver.ensure_default_network(tiny.id, cidr="10.8.0.0/29")  # 6 hosts: gateway, DHCP, 4 servers
    request = spec(cloud, network_ids=(network.network_id,))
    for n in range(4):
        cloud.driver.create_server(tiny.id, spec(cloud, f"s{n}", network_ids=(network.network_id,)))
    with pytest.raises(Conflict, match="No more IP addresses"):
        cloud.driver.create_server(tiny.id, request)


def test_invalid_ranges_are_refused(cloud: CloudUnderTest) -> None:
    other = cloud.driver.ensure_project(ProjectSpec(name=f"hn-{uuid.uuid4()}"))
    for cidr in ("10.0.0.0/30", "not-a-range", "10.0.0.1/24", "fd00::/64"):
        with pytest.raises(InvalidRequest):
            cloud.driver.ensure_default_network(other.id, cidr=cidr)


# --- quotas --------------------------------------------------------------------------------------------------------


def test_instances_quota_counts_every_server_incl_error_ones_with_nova_words(cloud: CloudUnderTest) -> None:
    cloud.driver.set_quotas(cloud.project_id, Quotas(instances=2))
    Region.objects.filter(pk=cloud.region.pk).update(
        settings={
            **cloud.region.settings,
            "faults": [{"op": "create_server", "error": "build_error"}],
            "timings": {"delete": 2000},  # 10 s at speed 200: until rewind() moves the clock
        }
    )
    broken = cloud.driver.create_server(cloud.project_id, spec(cloud, "broken"))
    wait_for_status(cloud, broken.id, {Status.ERROR}, cloud.timeout)
    running(cloud, "fine")
    with pytest.raises(QuotaExceeded) as caught:
        cloud.driver.create_server(cloud.project_id, spec(cloud, "third"))
    assert str(caught.value) == "Quota exceeded for instances: 2 of 2 used."
    cloud.driver.delete_server(cloud.project_id, broken.id)
    with pytest.raises(QuotaExceeded):  # still counted while it is being deleted, as in nova
        cloud.driver.create_server(cloud.project_id, spec(cloud, "third"))
    rewind(broken.id, 11)
    wait_until_gone(cloud, broken.id)
    cloud.driver.create_server(cloud.project_id, spec(cloud, "third"))


def test_default_instances_quota_is_ten(cloud: CloudUnderTest) -> None:
    for n in range(10):
        cloud.driver.create_server(cloud.project_id, spec(cloud, f"s{n}", flavor_id=flavor_id(cloud, "g1.nano")))
    with pytest.raises(QuotaExceeded, match=r"^Quota exceeded for instances: 10 of 10 used\.$"):
        cloud.driver.create_server(cloud.project_id, spec(cloud, "eleventh"))


def test_cores_and_ram_quotas_on_create_and_resize(cloud: CloudUnderTest) -> None:
    cloud.driver.set_quotas(cloud.project_id, Quotas(cores=3))
    first = running(cloud, "one")  # g1.small: 1 vCPU, 2 GiB
    with pytest.raises(QuotaExceeded, match=r"^Quota exceeded for cores: requested 4, 1 of 3 used\.$"):
        cloud.driver.create_server(cloud.project_id, spec(cloud, flavor_id=flavor_id(cloud, "g1.large")))
    act(cloud, first, "resize", flavor_id=flavor_id(cloud, "g1.medium"))  # +1 vCPU: fits
    wait_for_status(cloud, first, {Status.VERIFY_RESIZE}, cloud.timeout)
    act(cloud, first, "confirm_resize")
    wait_for_status(cloud, first, {Status.ACTIVE}, cloud.timeout)
    with pytest.raises(QuotaExceeded, match=r"cores: requested 2, 2 of 3 used"):
        act(cloud, first, "resize", flavor_id=flavor_id(cloud, "g1.large"))
    cloud.driver.set_quotas(cloud.project_id, Quotas(cores=10, ram_mb=6144))
    with pytest.raises(QuotaExceeded, match=r"ram_mb: requested 4096, 4096 of 6144 used"):
        act(cloud, first, "resize", flavor_id=flavor_id(cloud, "g1.large"))
    assert cloud.driver.get_server(cloud.project_id, first).status == Status.ACTIVE


def test_quotas_default_from_the_region_and_cannot_go_below_usage(cloud: CloudUnderTest) -> None:
    Region.objects.filter(pk=cloud.region.pk).update(
        settings={**cloud.region.settings, "default_quotas": {"instances": 3, "floating_ips": -1}}
    )
    quotas = cloud.driver.get_quotas(cloud.project_id)
    assert (quotas.instances, quotas.cores, quotas.floating_ips, quotas.ports) == (3, 20, None, 50)
    running(cloud)
    running(cloud, "two")
    with pytest.raises(InvalidRequest, match="already used 2"):
        cloud.driver.set_quotas(cloud.project_id, Quotas(instances=1))
    cloud.driver.set_quotas(cloud.project_id, Quotas(instances=2, volumes=-1))
    quotas = cloud.driver.get_quotas(cloud.project_id)
    assert (quotas.instances, quotas.volumes) == (2, None)


def test_key_pair_quota(cloud: CloudUnderTest) -> None:
    cloud.driver.set_quotas(cloud.project_id, Quotas(key_pairs=1))
    cloud.driver.create_keypair(cloud.project_id, "one", ssh_public_key())
    with pytest.raises(QuotaExceeded, match="key_pairs"):
        cloud.driver.create_keypair(cloud.project_id, "two", ssh_public_key())


# --- nova's rules --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("start", {}),
        ("confirm_resize", {}),
        ("revert_resize", {}),
    ],
)
def test_actions_refused_on_an_active_server(cloud: CloudUnderTest, kind: str, options: dict) -> None:
    server = running(cloud)
    with pytest.raises(Conflict, match="vm_state active"):
        act(cloud, server, kind, **options)


def test_actions_refused_on_a_stopped_server(cloud: CloudUnderTest) -> None:
    server = running(cloud)
    act(cloud, server, "stop")
    wait_for_status(cloud, server, {Status.STOPPED}, cloud.timeout)
    for kind in ("stop", "reboot"):
        with pytest.raises(Conflict, match="vm_state stopped"):
            act(cloud, server, kind)
    act(cloud, server, "reboot", hard=True)  # nova allows a hard reboot of a stopped server: it starts it
    wait_for_status(cloud, server, {Status.ACTIVE}, cloud.timeout)


def test_a_stopped_server_resized_stays_stopped_and_rebuilt_stays_stopped(cloud: CloudUnderTest) -> None:
    server = running(cloud)
    act(cloud, server, "stop")
    wait_for_status(cloud, server, {Status.STOPPED}, cloud.timeout)
    act(cloud, server, "resize", flavor_id=cloud.bigger_flavor_id)
    wait_for_status(cloud, server, {Status.VERIFY_RESIZE}, cloud.timeout)
    act(cloud, server, "confirm_resize")
    wait_for_status(cloud, server, {Status.STOPPED}, cloud.timeout)
    act(cloud, server, "rebuild", image_id=image_id(cloud, "Debian 12"))
    rebuilt = wait_for_status(cloud, server, {Status.STOPPED}, cloud.timeout)
    assert rebuilt.image_id == image_id(cloud, "Debian 12")


def test_resize_rules(cloud: CloudUnderTest) -> None:
    server = running(cloud, flavor_id=cloud.bigger_flavor_id)
    with pytest.raises(InvalidRequest, match="must change flavor"):
        act(cloud, server, "resize", flavor_id=cloud.bigger_flavor_id)
    with pytest.raises(InvalidRequest, match="smaller disk"):
        act(cloud, server, "resize", flavor_id=cloud.flavor_id)
    missing = str(uuid.uuid4())
    with pytest.raises(InvalidRequest, match=missing):
        act(cloud, server, "resize", flavor_id=missing)
    with pytest.raises(InvalidRequest):
        act(cloud, server, "resize")


def test_a_locked_server_refuses_everything_but_unlock_rename_and_lock(cloud: CloudUnderTest) -> None:
    server = running(cloud)
    act(cloud, server, "lock")
    act(cloud, server, "lock")  # locking a locked server is fine
    for kind, options in [
        ("stop", {}),
        ("reboot", {"hard": True}),
        ("resize", {"flavor_id": cloud.bigger_flavor_id}),
        ("rebuild", {"image_id": cloud.image_id}),
    ]:
        with pytest.raises(Conflict, match=f"Instance {server} is locked"):
            act(cloud, server, kind, **options)
    with pytest.raises(Conflict, match="locked"):
        cloud.driver.delete_server(cloud.project_id, server)
    act(cloud, server, "rename", name="renamed-while-locked")  # nova allows it
    act(cloud, server, "unlock")
    act(cloud, server, "stop")


def test_server_names_follow_nova(cloud: CloudUnderTest) -> None:
    assert cloud.driver.create_server(cloud.project_id, spec(cloud, "x" * 255)).name == "x" * 255
    for name in ("", "x" * 256, " padded", "padded "):
        with pytest.raises(InvalidRequest, match="name"):
            cloud.driver.create_server(cloud.project_id, spec(cloud, name))
    server = running(cloud)
    with pytest.raises(InvalidRequest):
        act(cloud, server, "rename", name="y" * 256)


def test_create_checks_name_image_flavor_fit_key_pair_and_security_groups(cloud: CloudUnderTest) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(InvalidRequest, match=f"Flavor {missing} could not be found"):
        cloud.driver.create_server(cloud.project_id, spec(cloud, flavor_id=missing))
    with pytest.raises(InvalidRequest, match=f"Image {missing} could not be found"):
        cloud.driver.create_server(cloud.project_id, spec(cloud, image_id=missing))
    with pytest.raises(InvalidRequest, match="disk is too small"):
        cloud.driver.create_server(cloud.project_id, spec(cloud, image_id=image_id(cloud, "Windows Server 2022")))
    with pytest.raises(InvalidRequest, match="memory is too small"):
        cloud.driver.create_server(
            cloud.project_id,
            spec(cloud, flavor_id=flavor_id(cloud, "g1.nano"), image_id=image_id(cloud, "Rocky Linux 9")),
        )
    with pytest.raises(InvalidRequest, match="key_name"):
        cloud.driver.create_server(cloud.project_id, spec(cloud, keypair_name="nobody"))
    with pytest.raises(InvalidRequest, match="Security group web"):
        cloud.driver.create_server(cloud.project_id, spec(cloud, security_groups=("web",)))
    assert cloud.driver.list_servers(cloud.project_id) == []
    made = cloud.driver.create_server(cloud.project_id, spec(cloud, security_groups=("default",)))
    assert made.status == Status.BUILDING


def test_key_pairs_are_the_service_users_like_nova(cloud: CloudUnderTest) -> None:
    other = cloud.driver.ensure_project(ProjectSpec(name=f"hn-{uuid.uuid4()}"))
    key = ssh_public_key()
    made = cloud.driver.create_keypair(cloud.project_id, "deploy@ci", key)
    assert made.fingerprint == md5_fingerprint(key)
    assert "deploy@ci" in {k.name for k in cloud.driver.list_keypairs(other.id)}  # one name space per region
    with pytest.raises(Conflict, match="already exists"):
        cloud.driver.create_keypair(other.id, "deploy@ci", ssh_public_key())
    for name, public_key in [
        ("bad/name", key),
        ("ok", "ssh-rsa " + key.split()[1]),  # an ed25519 blob claiming to be RSA
        ("ok", "ecdsa-sha2-nistp256"),
    ]:
        with pytest.raises(InvalidRequest):
            cloud.driver.create_keypair(cloud.project_id, name, public_key)


# --- the console log -----------------------------------------------------------------------------------------------


def test_the_console_log_tells_the_boot_and_grows() -> None:
    slow = next(sandbox_cloud(speed=1.0))  # real time, moved by rewind()
    key = ssh_public_key()
    slow.driver.create_keypair(slow.project_id, "ops", key)
    server = slow.driver.create_server(slow.project_id, spec(slow, "game-server-1", keypair_name="ops")).id
    assert slow.driver.console_log(slow.project_id, server) == ""  # building: nothing yet
    rewind(server, 4.0 + 1.0)  # built, and booting for 1 s
    early = slow.driver.console_log(slow.project_id, server)
    assert "Linux version 6.8.0-45-generic" in early and "cloud-init" not in early
    rewind(server, 60)
    booted = slow.driver.console_log(slow.project_id, server)
    ip = slow.driver.get_server(slow.project_id, server).addresses[0].ip
    assert len(booted.splitlines()) > len(early.splitlines())
    assert "Hostname set to <game-server-1>" in booted
    assert ip in booted
    assert md5_fingerprint(key) in booted
    assert "Ubuntu 24.04 LTS game-server-1 ttyS0" in booted
    assert "Cloud-init v. 24.3.1 finished at " in booted and " +0000" in booted
    rewind(server, 3 * 3600)
    later = slow.driver.console_log(slow.project_id, server)
    assert later.count("sysstat-collect") == 3
    assert slow.driver.console_log(slow.project_id, server, lines=2).splitlines() == later.splitlines()[-2:]
    assert slow.driver.console_log(slow.project_id, server, lines=0) == ""


def test_the_console_log_of_a_windows_server() -> None:
    slow = next(sandbox_cloud(speed=1.0))
    windows = spec(slow, "win-1", flavor_id=flavor_id(slow, "g1.large"), image_id=image_id(slow, "Windows Server 2022"))
    server = slow.driver.create_server(slow.project_id, windows).id
    rewind(server, 4.0 + 100)
    log = slow.driver.console_log(slow.project_id, server)
    assert "Setting host name: WIN-1" in log and "Windows Server 2022 WIN-1 ready" in log


# --- concurrency ---------------------------------------------------------------------------------------------------


def create_concurrently(cloud: CloudUnderTest, request: ServerSpec, copies: int = 2) -> list[str]:
    """Send the same create from `copies` threads at once (each with its own connection and driver)."""
    barrier = threading.Barrier(copies)
    made: list[str] = []

    def create() -> None:
        try:
            barrier.wait()
            made.append(SandboxDriver(cloud.region).create_server(cloud.project_id, request).id)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return made


@pytest.mark.django_db(transaction=True)
def test_with_dedupe_two_creates_with_the_same_request_at_once_make_one_server() -> None:
    cloud = next(sandbox_cloud(latency_ms=50, dedupe_requests=True))
    request = spec(cloud)
    made = create_concurrently(cloud, request)
    assert len(made) == 2 and made[0] == made[1]
    assert [s.id for s in cloud.driver.list_servers(cloud.project_id)] == [made[0]]


@pytest.mark.django_db(transaction=True)
def test_by_default_the_sandbox_makes_two_like_nova() -> None:
    cloud = next(sandbox_cloud())
    made = create_concurrently(cloud, spec(cloud))
    assert len(set(made)) == 2
    ips = {s.addresses[0].ip for s in cloud.driver.list_servers(cloud.project_id)}
    assert len(ips) == 2  # the subnet lock still gives each its own address


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_stops_one_wins() -> None:
    cloud = next(sandbox_cloud())
    server = running(cloud)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def stop() -> None:
        try:
            barrier.wait()
            SandboxDriver(cloud.region).server_action(cloud.project_id, server, ServerAction("stop"))
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=stop) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "ok"]
