"""Fixtures of the harness tests: a fresh project with a plain member user on the local OpenStack (`make openstack`),
and what most tests share (a network with a router, a server with a port). The tests use openstacksdk directly.

After the last test of this package everything is deleted (package-scoped fixtures), and the project is checked
for leftovers: the run fails if anything remains.
If the cloud cannot be reached every test fails with the reason: nothing is skipped.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openstack.connection import Connection

from tests.integration.openstack.cloud import (
    CLOUD,
    CLOUDS_YAML,
    FLAVOR,
    IMAGE,
    PUBLIC_NETWORK,
    TENANT_CIDR,
    BootedServer,
    Network,
    Tenant,
    admin_connection,
    expect_gone,
    member_connection,
    server_settled,
    wait_for,
)


@pytest.fixture(scope="session")
def admin() -> Connection:
    try:
        conn = admin_connection()
        conn.authorize()
    except Exception as error:
        pytest.fail(
            f"The local OpenStack cannot be reached through {CLOUDS_YAML} (cloud {CLOUD}): {error}\n"
            "Bring it up with `make openstack` (`make test` does it first); its logs are in .openstack/logs/.",
            pytrace=False,
        )
    return conn


@pytest.fixture(scope="package")
def tenant(admin: Connection) -> Iterator[Tenant]:
    """A fresh project and member user (made by the admin, as the console will); swept and checked at the end."""
    name = f"haneul-test-{uuid.uuid4().hex[:8]}"
    identity = admin.identity
    project = identity.create_project(name=name, domain_id="default", description="Haneul harness tests")
    password = secrets.token_urlsafe(16)
    user = identity.create_user(name=name, password=password, domain_id="default", default_project_id=project.id)
    identity.assign_project_role_to_user(project, user, identity.find_role("member", ignore_missing=False))
    try:
        yield Tenant(
            project.id, user.id, member_connection(admin, username=name, password=password, project_id=project.id)
        )
    finally:
        leftovers, failures = sweep(admin, project.id)
        identity.delete_user(user)
        identity.delete_project(project)
    expect_gone(identity.get_project, project.id)
    expect_gone(identity.get_user, user.id)
    assert not project_security_groups(admin, project.id), "a default security group came back after the sweep"
    assert not leftovers, f"the tests left these behind in project {name}: {leftovers}"
    assert not failures, f"the sweep could not delete: {failures}"


def project_resources(admin: Connection, project_id: str) -> dict[str, list[str]]:
    """Every resource the project owns, as the admin sees it (the default security group aside)."""
    net, compute, volume = admin.network, admin.compute, admin.block_storage
    found = {
        "servers": [s.id for s in compute.servers(all_projects=True, project_id=project_id)],
        "vpn_ipsec_site_connections": [c.id for c in net.vpn_ipsec_site_connections(project_id=project_id)],
        "vpn_services": [v.id for v in net.vpn_services(project_id=project_id)],
        "vpn_endpoint_groups": [g.id for g in net.vpn_endpoint_groups(project_id=project_id)],
        "vpn_ike_policies": [p.id for p in net.vpn_ike_policies(project_id=project_id)],
        "vpn_ipsec_policies": [p.id for p in net.vpn_ipsec_policies(project_id=project_id)],
        "floating_ips": [ip.id for ip in net.ips(project_id=project_id)],
        "routers": [r.id for r in net.routers(project_id=project_id)],
        "ports": [p.id for p in net.ports(project_id=project_id)],
        "subnets": [s.id for s in net.subnets(project_id=project_id)],
        "networks": [n.id for n in net.networks(project_id=project_id)],
        "security_groups": [g.id for g in project_security_groups(admin, project_id) if g.name != "default"],
        "volumes": [v.id for v in volume.volumes(all_projects=True, project_id=project_id)],
        "images": [i.id for i in admin.image.images(owner=project_id)],
    }
    return {kind: ids for kind, ids in found.items() if ids}


def project_security_groups(admin: Connection, project_id: str) -> list[Any]:
    """The project's security groups. Filtered here: a list filtered by project makes neutron create its default one."""
    return [group for group in admin.network.security_groups() if group.project_id == project_id]


def sweep(admin: Connection, project_id: str) -> tuple[dict[str, list[str]], list[str]]:
    """Delete whatever the project still has, in dependency order, as the admin.

    Returns what was left (the default security group aside) and what could not be deleted; never raises, so the
    project and user are deleted whatever happened.
    """
    leftovers = project_resources(admin, project_id)
    failures: list[str] = []
    compute, net, volumes = admin.compute, admin.network, admin.block_storage

    def attempt(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as error:  # keep sweeping; report at the end
            failures.append(f"{what}: {error}")

    def delete_and_wait(server_id: str) -> None:
        compute.delete_server(server_id, force=True)
        expect_gone(compute.get_server, server_id)

    for server_id in leftovers.get("servers", []):
        attempt(f"server {server_id}", lambda server_id=server_id: delete_and_wait(server_id))
    for kind, delete in [
        ("vpn_ipsec_site_connections", net.delete_vpn_ipsec_site_connection),
        ("vpn_services", net.delete_vpn_service),
        ("vpn_endpoint_groups", net.delete_vpn_endpoint_group),
        ("vpn_ike_policies", net.delete_vpn_ike_policy),
        ("vpn_ipsec_policies", net.delete_vpn_ipsec_policy),
        ("floating_ips", net.delete_ip),
    ]:
        for resource_id in leftovers.get(kind, []):
            attempt(f"{kind} {resource_id}", lambda delete=delete, resource_id=resource_id: delete(resource_id))
    for router_id in leftovers.get("routers", []):
        for port in net.ports(device_id=router_id, device_owner="network:router_interface"):
            attempt(
                f"router interface {port.id}",
                lambda r=router_id, p=port.id: net.remove_interface_from_router(r, port=p),
            )
        attempt(f"router {router_id}", lambda router_id=router_id: net.delete_router(router_id))
    for kind, delete in [
        ("ports", net.delete_port),
        ("subnets", net.delete_subnet),
        ("networks", net.delete_network),
        ("security_groups", net.delete_security_group),
        ("images", admin.image.delete_image),
    ]:
        for resource_id in leftovers.get(kind, []):
            attempt(f"{kind} {resource_id}", lambda delete=delete, resource_id=resource_id: delete(resource_id))
    for volume_id in leftovers.get("volumes", []):
        attempt(f"volume {volume_id}", lambda volume_id=volume_id: volumes.delete_volume(volume_id, force=True))
    for volume_id in leftovers.get("volumes", []):
        attempt(f"volume {volume_id} deleted", lambda volume_id=volume_id: expect_gone(volumes.get_volume, volume_id))
    # Neutron makes a default security group for each project and keeps it after the project is gone.
    for group in project_security_groups(admin, project_id):
        attempt(f"security group {group.id}", lambda group=group: net.delete_security_group(group))

    def empty() -> bool:
        return not project_resources(admin, project_id) and not project_security_groups(admin, project_id)

    try:  # deletes finish asynchronously (a volume is "deleting" for a moment)
        wait_for("the project empty", empty, timeout=60)
    except AssertionError:
        failures.append(f"still there after the sweep: {project_resources(admin, project_id)}")
    return leftovers, failures


@pytest.fixture(scope="session")
def public_network(admin: Connection) -> str:
    network = admin.network.find_network(PUBLIC_NETWORK, ignore_missing=False)
    return network.id


@pytest.fixture(scope="package")
def network(tenant: Tenant, public_network: str) -> Iterator[Network]:
    """The member's network and subnet, and a router with the public network as its gateway and the subnet on it."""
    net = tenant.conn.network
    network = net.create_network(name="haneul-test-net")
    subnet = net.create_subnet(network_id=network.id, name="haneul-test-subnet", ip_version=4, cidr=TENANT_CIDR)
    router = net.create_router(name="haneul-test-router", external_gateway_info={"network_id": public_network})
    net.add_interface_to_router(router, subnet=subnet.id)
    yield Network(network.id, subnet.id, router.id)
    net.remove_interface_from_router(router, subnet=subnet.id)
    net.delete_router(router)
    net.delete_subnet(subnet)
    net.delete_network(network)


@pytest.fixture(scope="package")
def server(tenant: Tenant, network: Network) -> Iterator[BootedServer]:
    """A server booted by the member with a port made first, tagged at boot; deleted (and its port) at the end."""
    conn = tenant.conn
    image = conn.image.find_image(IMAGE, ignore_missing=False)
    flavor = conn.compute.find_flavor(FLAVOR, ignore_missing=False)
    port = conn.network.create_port(network_id=network.network_id, name="haneul-test-port")
    request_tag = f"haneul-request-{uuid.uuid4()}"
    tags = ["haneul", request_tag]
    began = time.monotonic()
    created = conn.compute.create_server(
        name="haneul-test-server",
        image_id=image.id,
        flavor_id=flavor.id,
        networks=[{"port": port.id}],
        tags=tags,
    )
    try:
        server_settled(conn, created.id, "ACTIVE")
        yield BootedServer(created.id, port.id, request_tag, time.monotonic() - began, tags)
    finally:
        conn.compute.delete_server(created.id)
        conn.compute.wait_for_delete(created, wait=120)
        conn.network.delete_port(port.id)
