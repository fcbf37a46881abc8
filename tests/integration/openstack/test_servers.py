"""Nova as the member: boot with a port, tags, power actions, resize (confirm and revert), rebuild, lock, console log.

The actions share one server (booting takes seconds); each test leaves it ACTIVE and unlocked.
"""

from __future__ import annotations

import pytest
from openstack import exceptions

from tests.integration.openstack.cloud import (
    BIGGER_FLAVOR,
    FLAVOR,
    IMAGE,
    MARKS,
    BootedServer,
    Network,
    Tenant,
    server_settled,
    wait_for,
)

pytestmark = MARKS


def test_server_with_a_port_boots_to_active(tenant: Tenant, network: Network, server: BootedServer) -> None:
    booted = tenant.conn.compute.get_server(server.id)
    assert booted.status == "ACTIVE"
    assert booted.power_state == 1  # running
    port = tenant.conn.network.get_port(server.port_id)
    assert port.status == "ACTIVE"  # bound by the harness's ML2 driver
    assert port.device_id == server.id
    fixed_ip = port.fixed_ips[0]["ip_address"]
    addresses = [entry["addr"] for entries in booted.addresses.values() for entry in entries]
    assert fixed_ip in addresses
    assert server.boot_seconds < 60, f"boot took {server.boot_seconds:.0f} s"


def test_tags_set_at_boot_find_the_server(tenant: Tenant, server: BootedServer) -> None:
    """The console tags every create with its request id and looks it up by tag (compute microversion >= 2.52)."""
    compute = tenant.conn.compute
    assert set(compute.get_server(server.id).tags) == set(server.tags)
    assert [found.id for found in compute.servers(tags=server.request_tag)] == [server.id]
    assert list(compute.servers(tags="haneul-request-that-does-not-exist")) == []


def test_stop_and_start(tenant: Tenant, server: BootedServer) -> None:
    compute = tenant.conn.compute
    compute.stop_server(server.id)
    assert server_settled(tenant.conn, server.id, "SHUTOFF").power_state == 4  # shutdown
    compute.start_server(server.id)
    assert server_settled(tenant.conn, server.id, "ACTIVE").power_state == 1


@pytest.mark.parametrize("reboot_type", ["SOFT", "HARD"])
def test_reboot(tenant: Tenant, server: BootedServer, reboot_type: str) -> None:
    compute = tenant.conn.compute
    before = {action.request_id for action in compute.server_actions(server.id)}
    compute.reboot_server(server.id, reboot_type)
    server_settled(tenant.conn, server.id, "ACTIVE")
    actions = [action for action in compute.server_actions(server.id) if action.request_id not in before]
    assert [action.action for action in actions] == ["reboot"]


def _resize_to_the_other_flavor(tenant: Tenant, server: BootedServer) -> tuple[str, str]:
    compute = tenant.conn.compute
    current = compute.get_server(server.id).flavor["original_name"]
    target = BIGGER_FLAVOR if current == FLAVOR else FLAVOR
    compute.resize_server(server.id, compute.find_flavor(target, ignore_missing=False).id)
    resized = server_settled(tenant.conn, server.id, "VERIFY_RESIZE")
    assert resized.flavor["original_name"] == target
    return current, target


def test_resize_and_confirm(tenant: Tenant, server: BootedServer) -> None:
    _, target = _resize_to_the_other_flavor(tenant, server)
    tenant.conn.compute.confirm_server_resize(server.id)
    assert server_settled(tenant.conn, server.id, "ACTIVE").flavor["original_name"] == target


def test_resize_and_revert(tenant: Tenant, server: BootedServer) -> None:
    original, _ = _resize_to_the_other_flavor(tenant, server)
    tenant.conn.compute.revert_server_resize(server.id)
    assert server_settled(tenant.conn, server.id, "ACTIVE").flavor["original_name"] == original


def test_rebuild(tenant: Tenant, server: BootedServer) -> None:
    compute = tenant.conn.compute
    image = tenant.conn.image.find_image(IMAGE, ignore_missing=False)
    compute.rebuild_server(server.id, image.id, name="haneul-test-server-rebuilt")
    wait_for("rebuild begins or ends", lambda: compute.get_server(server.id).name == "haneul-test-server-rebuilt")
    rebuilt = server_settled(tenant.conn, server.id, "ACTIVE")
    assert rebuilt.image["id"] == image.id
    assert "rebuild" in {action.action for action in compute.server_actions(server.id)}
    compute.update_server(server.id, name="haneul-test-server")


def test_lock_refuses_actions_until_unlocked(tenant: Tenant, server: BootedServer) -> None:
    compute = tenant.conn.compute
    compute.lock_server(server.id, locked_reason="haneul harness test")
    try:
        locked = compute.get_server(server.id)
        assert (locked.is_locked, locked.locked_reason) == (True, "haneul harness test")
        with pytest.raises(exceptions.ConflictException):
            compute.stop_server(server.id)
    finally:
        compute.unlock_server(server.id)
    assert compute.get_server(server.id).is_locked is False
    assert compute.get_server(server.id).status == "ACTIVE"


def test_console_log(tenant: Tenant, server: BootedServer) -> None:
    """The fake hypervisor's console log is a fixed text; the API path is the real one."""
    output = tenant.conn.compute.get_server_console_output(server.id)["output"]
    assert "FAKE CONSOLE OUTPUT" in output
    last_line = tenant.conn.compute.get_server_console_output(server.id, length=1)["output"]
    assert last_line.strip() == "LAST LINE"


def test_no_remote_console_is_served(tenant: Tenant, server: BootedServer) -> None:
    """The harness runs no VNC/SPICE proxy: asking for a remote console is refused, and drivers must say so."""
    with pytest.raises(exceptions.HttpException) as refused:
        tenant.conn.compute.create_server_remote_console(server.id, protocol="vnc", type="novnc")
    assert refused.value.status_code in (400, 409, 501)
