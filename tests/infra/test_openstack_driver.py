"""What only the OpenStack driver does, proven on the local OpenStack (`make openstack`): real errors provoked and
classified, the compute microversion, connections reused per (region, project), projects and default networks
repaired, a vanished project told apart from refused credentials, and what a create sends to nova.

The behaviour every driver shares is in test_driver_contract.py.
"""

from __future__ import annotations

import base64
import http.server
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.models import Region
from infra.providers import driver_for
from infra.providers.base import (
    CloudError,
    Health,
    InvalidRequest,
    NotFound,
    ProjectSpec,
    QuotaExceeded,
    Quotas,
    ServerSpec,
    Status,
    Unavailable,
)
from infra.providers.openstack import connections as os_connections
from infra.providers.openstack.driver import NETWORK_NAME, ROUTER_NAME, SUBNET_NAME, OpenStackDriver
from tests.infra.clouds import CloudUnderTest
from tests.infra.openstack_cloud import OpenStackSession, region_settings, sweep
from tests.integration.openstack.cloud import CLOUD, CLOUDS_YAML, MARKS, admin_connection, wait_for

pytestmark = [*MARKS, pytest.mark.filterwarnings("ignore:Failed to discover")]


def driver_with(**settings: Any) -> OpenStackDriver:
    """A driver of its own (not `driver_for`'s cached one) for a throwaway region."""
    region = Region(id=uuid.uuid4(), slug="os-throwaway", name="Throwaway", provider="openstack")
    region.settings = region_settings(**settings)
    return OpenStackDriver(region)


def clouds_yaml(tmp_path: Path, **auth: str) -> str:
    """A copy of the test clouds.yaml's entry (as cloud "probe") with some auth values changed."""
    entry = yaml.safe_load(CLOUDS_YAML.read_text())["clouds"][CLOUD]
    entry = {**entry, "auth": {**entry["auth"], **auth}}
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"probe": entry}}))
    return str(path)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def spare_project() -> Iterator[tuple[OpenStackDriver, str]]:
    """A second cloud project made through the driver, for tests that break its network or quotas on purpose."""
    driver = driver_with()
    project = driver.ensure_project(ProjectSpec(name=f"hn-test-{uuid.uuid4().hex[:10]}", description="spare"))
    try:
        yield driver, project.id
    finally:
        driver.connections.forget_project(project.id)
        failures = sweep(project.id, keypair_prefix=project.name)
    assert not failures, failures


# --- errors, provoked for real -------------------------------------------------------------------------------------


def test_a_wrong_password_is_a_permanent_error_saying_the_credentials_were_refused(tmp_path: Path) -> None:
    driver = driver_with(cloud="probe", clouds_file=clouds_yaml(tmp_path, password="not-the-password"))
    with pytest.raises(CloudError) as caught:
        driver.list_flavors()
    assert type(caught.value) is CloudError and caught.value.permanent
    assert "credentials were refused" in caught.value.message
    assert "requires authentication" in caught.value.message  # keystone's own words
    report = driver.check_health()
    assert report.health == Health.DOWN and "credentials" in report.message


def test_an_unknown_clouds_yaml_entry_or_file_is_a_permanent_error(tmp_path: Path) -> None:
    with pytest.raises(CloudError) as caught:
        driver_with(cloud="no-such-entry").list_images()
    assert caught.value.permanent and "no-such-entry" in caught.value.message
    with pytest.raises(CloudError) as caught:
        driver_with(clouds_file=str(tmp_path / "missing.yaml")).list_images()
    assert caught.value.permanent and "missing.yaml" in caught.value.message
    assert driver_with(cloud="no-such-entry").check_health().health == Health.DOWN


def test_an_unreachable_auth_url_is_unavailable_and_the_region_down(tmp_path: Path) -> None:
    driver = driver_with(
        cloud="probe", clouds_file=clouds_yaml(tmp_path, auth_url=f"http://127.0.0.1:{free_port()}/v3")
    )
    with pytest.raises(Unavailable) as caught:
        driver.list_flavors()
    assert not caught.value.permanent
    assert "cannot be reached" in caught.value.message and "HTTPConnectionPool" not in caught.value.message
    report = driver.check_health()  # never raises
    assert report.health == Health.DOWN and "cannot be reached" in report.message


def test_an_identity_service_answering_503_is_unavailable(tmp_path: Path) -> None:
    """A real HTTP server in keystone's place, answering 503 as a restarting service behind a proxy does."""

    class Restarting(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"code": 503, "message": "Keystone is restarting, try again"}}')

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Restarting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v3"
        driver = driver_with(cloud="probe", clouds_file=clouds_yaml(tmp_path, auth_url=url))
        with pytest.raises(Unavailable) as caught:
            driver.list_flavors()
        assert "503" in caught.value.message and "Keystone is restarting" in caught.value.message
        assert driver.check_health().health == Health.DOWN
    finally:
        server.shutdown()
        server.server_close()


def test_a_call_slower_than_the_timeout_is_unavailable() -> None:
    driver = driver_with(timeout=0.001)
    with pytest.raises(Unavailable) as caught:
        driver.list_flavors()
    assert "did not answer in time" in caught.value.message


def test_an_unknown_flavor_is_an_invalid_request_naming_it(openstack_cloud: CloudUnderTest) -> None:
    cloud = openstack_cloud
    spec = ServerSpec(
        name="hn-test-bad-flavor",
        flavor_id="no-such-flavor",
        image_id=cloud.image_id,
        request_id=str(uuid.uuid4()),
        network_ids=(cloud.network_id,),
    )
    with pytest.raises(InvalidRequest) as caught:
        cloud.driver.create_server(cloud.project_id, spec)
    assert "no-such-flavor" in caught.value.message
    assert cloud.driver.find_server(cloud.project_id, request_id=spec.request_id) is None


def test_a_neutron_quota_is_quota_exceeded(spare_project: tuple[OpenStackDriver, str]) -> None:
    """Neutron answers 409 "Quota exceeded for resources: ['network']" (nova's 403 is in the contract suite)."""
    driver, project_id = spare_project
    driver.set_quotas(project_id, Quotas(networks=0))
    try:
        with pytest.raises(QuotaExceeded) as caught:
            driver.ensure_default_network(project_id, cidr="198.51.100.0/24")
        assert "network" in caught.value.message.lower()
    finally:
        driver.set_quotas(project_id, Quotas(networks=10))


def test_the_region_compute_api_too_old_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local nova offers 2.100; a console that needed more than that would refuse it, with the reason."""
    monkeypatch.setattr(os_connections, "COMPUTE_MICROVERSION_MIN", "2.999")
    driver = driver_with()
    with pytest.raises(CloudError) as caught:
        driver.list_servers(uuid.uuid4().hex)
    assert caught.value.permanent and "too old" in caught.value.message and "2.999" in caught.value.message
    assert driver.check_health().health == Health.DOWN


# --- connections and the compute microversion ----------------------------------------------------------------------


def test_the_compute_microversion_is_negotiated_at_least_2_52_and_pinned(openstack_cloud: CloudUnderTest) -> None:
    driver = openstack_cloud.driver
    assert isinstance(driver, OpenStackDriver)
    version = tuple(int(part) for part in driver.compute_microversion.split("."))
    assert (2, 52) <= version <= (2, 96)
    project_conn = driver.connections.project(openstack_cloud.project_id)
    assert project_conn.compute.default_microversion == driver.compute_microversion
    assert driver.connections.admin().compute.default_microversion == driver.compute_microversion


def test_one_connection_per_region_and_project_is_reused(
    openstack_cloud: CloudUnderTest, spare_project: tuple[OpenStackDriver, str]
) -> None:
    cloud = openstack_cloud
    assert driver_for(cloud.region) is cloud.driver  # one driver per region (and settings) per process
    driver = cloud.driver
    assert isinstance(driver, OpenStackDriver)
    cloud.driver.list_servers(cloud.project_id)
    first = driver.connections.project(cloud.project_id)
    token = first.auth_token
    cloud.driver.list_servers(cloud.project_id)
    cloud.driver.list_keypairs(cloud.project_id)
    assert driver.connections.project(cloud.project_id) is first
    assert first.auth_token == token  # the token is reused too, not re-issued per call

    seen: list[object] = []
    threads = [
        threading.Thread(target=lambda: seen.append(driver.connections.project(cloud.project_id))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(conn is first for conn in seen)

    other = driver.connections.project(spare_project[1])
    assert other is not first and other.current_project_id == spare_project[1]
    assert first.current_project_id == cloud.project_id
    assert driver.connections.admin() is driver.connections.admin()
    assert driver.connections.admin() is not first


# --- projects and the default network ------------------------------------------------------------------------------


def test_ensure_project_tags_it_and_gives_the_service_user_its_role(openstack_cloud_project: OpenStackSession) -> None:
    admin = admin_connection()
    try:
        project = admin.identity.get_project(openstack_cloud_project.project.id)
        assert "haneul" in (project.tags or [])
        assert project.domain_id == "default"
        user_id = openstack_cloud_project.driver.connections.admin().current_user_id
        roles = {
            assignment.role["id"]
            for assignment in admin.identity.role_assignments(user_id=user_id, scope_project_id=project.id)
        }
        member = admin.identity.find_role("member", ignore_missing=False)
        assert member.id in roles
    finally:
        admin.close()


def test_ensure_default_network_repairs_what_is_missing(spare_project: tuple[OpenStackDriver, str]) -> None:
    driver, project_id = spare_project
    made = driver.ensure_default_network(project_id, cidr="198.51.100.0/24")
    admin = admin_connection()
    try:
        net = admin.network
        assert net.get_network(made.network_id).name == NETWORK_NAME
        assert net.get_subnet(made.subnet_id).name == SUBNET_NAME
        assert net.get_router(made.router_id).name == ROUTER_NAME
        # Everything belongs to the project (made through its own connection), not to the service user's project.
        for resource in (
            net.get_network(made.network_id),
            net.get_subnet(made.subnet_id),
            net.get_router(made.router_id),
        ):
            assert resource.project_id == project_id

        # Someone detaches the subnet and clears the gateway: ensuring again puts both back, same resources.
        net.remove_interface_from_router(made.router_id, subnet=made.subnet_id)
        net.update_router(made.router_id, external_gateway_info={})
        again = driver.ensure_default_network(project_id, cidr="198.51.100.0/24")
        assert again == made
        router = net.get_router(made.router_id)
        public = net.find_network("public", ignore_missing=False)
        assert (router.external_gateway_info or {}).get("network_id") == public.id
        interfaces = list(net.ports(device_id=made.router_id, device_owner="network:router_interface"))
        assert [ip["subnet_id"] for port in interfaces for ip in port.fixed_ips] == [made.subnet_id]

        # The subnet itself is gone: a new one is made on the same network.
        net.remove_interface_from_router(made.router_id, subnet=made.subnet_id)
        net.delete_subnet(made.subnet_id)
        rebuilt = driver.ensure_default_network(project_id, cidr="198.51.100.0/24")
        assert (rebuilt.network_id, rebuilt.router_id) == (made.network_id, made.router_id)
        assert rebuilt.subnet_id != made.subnet_id and rebuilt.cidr == "198.51.100.0/24"
    finally:
        admin.close()


def test_a_project_deleted_outside_the_console_is_not_found_not_refused_credentials() -> None:
    driver = driver_with()
    project = driver.ensure_project(ProjectSpec(name=f"hn-test-{uuid.uuid4().hex[:10]}", description="vanishing"))
    try:
        assert driver.list_servers(project.id) == []  # a connection and a token scoped to it, cached
        admin = admin_connection()
        admin.identity.delete_project(project.id)
        admin.close()
        # A new token for it is refused (401): the driver asks keystone and says the project is gone. (A token made
        # before the deletion may still be accepted by nova for a few minutes: keystonemiddleware caches it.)
        fresh = driver_with()
        with pytest.raises(NotFound) as caught:
            fresh.list_servers(project.id)
        assert "no longer exists" in caught.value.message
        assert project.id not in fresh.connections.cached_projects()
        with pytest.raises(NotFound):
            driver.get_project(project.id)
        with pytest.raises(NotFound):
            driver.grant_access(project.id)
    finally:
        failures = sweep(project.id, keypair_prefix=project.name)
    assert not failures, failures


# --- what a create sends -------------------------------------------------------------------------------------------


def test_create_sends_user_data_base64_security_groups_metadata_and_is_idempotent(
    openstack_cloud: CloudUnderTest,
) -> None:
    cloud = openstack_cloud
    driver, project_id = cloud.driver, cloud.project_id
    user_data = "#!/bin/sh\necho 'hello from haneul' > /tmp/hello\n"
    spec = ServerSpec(
        name=f"hn-test-create-{uuid.uuid4().hex[:6]}",
        flavor_id=cloud.flavor_id,
        image_id=cloud.image_id,
        request_id=str(uuid.uuid4()),
        network_ids=(cloud.network_id,),
        user_data=user_data,
        security_groups=("default",),
        metadata={"role": "game-server"},
    )
    made = driver.create_server(project_id, spec)
    admin = admin_connection()
    try:
        # A retried create (the same request id) finds the server instead of making a second one.
        assert driver.create_server(project_id, spec).id == made.id
        assert [s.id for s in driver.list_servers(project_id) if s.request_id == spec.request_id] == [made.id]

        seen = admin.compute.get_server(made.id)  # the admin sees user data (nova hides it from members)
        assert base64.b64decode(seen.user_data).decode() == user_data
        assert seen.metadata == {"role": "game-server"}
        assert f"hn-req-{spec.request_id}" in seen.tags
        wait_for(
            "server ACTIVE",
            lambda: driver.get_server(project_id, made.id).status == Status.ACTIVE,
            timeout=cloud.timeout,
        )
        assert [group["name"] for group in admin.compute.get_server(made.id).security_groups] == ["default"]
    finally:
        admin.close()
        driver.delete_server(project_id, made.id)
    assert wait_for("deleted", lambda: driver.find_server(project_id, request_id=spec.request_id) is None)

    def gone() -> bool:
        try:
            driver.get_server(project_id, made.id)  # nova shows it as DELETED for a moment, then answers 404
        except NotFound:
            return True
        return False

    wait_for("gone", gone, timeout=cloud.timeout)


def test_a_server_without_networks_gets_the_projects_default_network(openstack_cloud: CloudUnderTest) -> None:
    """No network in the spec: nova's "auto" puts the server on the project's one network (hn-default)."""
    cloud = openstack_cloud
    driver, project_id = cloud.driver, cloud.project_id
    spec = ServerSpec(
        name=f"hn-test-auto-{uuid.uuid4().hex[:6]}",
        flavor_id=cloud.flavor_id,
        image_id=cloud.image_id,
        request_id=str(uuid.uuid4()),
    )
    made = driver.create_server(project_id, spec)
    try:
        server = wait_for(
            "server ACTIVE",
            lambda: (found := driver.get_server(project_id, made.id)).status == Status.ACTIVE and found,
            timeout=cloud.timeout,
        )
        assert [(address.network, address.kind) for address in server.addresses] == [(NETWORK_NAME, "fixed")]
    finally:
        driver.delete_server(project_id, made.id)
