"""Cinder as the member: a volume is created, attached to the server, detached and deleted."""

from __future__ import annotations

from openstack.connection import Connection

from tests.integration.openstack.cloud import MARKS, BootedServer, Tenant, expect_gone, volume_status, wait_for

pytestmark = MARKS


def test_volume_create_attach_detach_delete(tenant: Tenant, server: BootedServer) -> None:
    conn = tenant.conn
    volume = conn.block_storage.create_volume(name="haneul-test-volume", size=1)
    try:
        assert volume_status(conn, volume.id, "available").size == 1

        conn.compute.create_volume_attachment(server.id, volume=volume.id)
        attached = volume_status(conn, volume.id, "in-use")
        assert [attachment["server_id"] for attachment in attached.attachments] == [server.id]
        wait_for("volume in the server's list", lambda: volume.id in _attached(conn, server))

        conn.compute.delete_volume_attachment(server.id, volume.id)
        detached = volume_status(conn, volume.id, "available")
        assert detached.attachments == []
        wait_for("volume gone from the server's list", lambda: volume.id not in _attached(conn, server))
    finally:
        conn.block_storage.delete_volume(volume.id)
    expect_gone(conn.block_storage.get_volume, volume.id)


def _attached(conn: Connection, server: BootedServer) -> set[str]:
    return {attachment["id"] for attachment in conn.compute.get_server(server.id).attached_volumes}
