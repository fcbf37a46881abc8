"""Neutron as the member: network, subnet and router with a gateway, floating IPs, security groups, VPNaaS."""

from __future__ import annotations

import ipaddress

from openstack.connection import Connection

from tests.integration.openstack.cloud import MARKS, TENANT_CIDR, BootedServer, Network, Tenant, expect_gone, wait_for

pytestmark = MARKS

PUBLIC_RANGE = ipaddress.ip_network("203.0.113.0/24")


def test_network_subnet_and_router_with_a_gateway(tenant: Tenant, network: Network, public_network: str) -> None:
    net = tenant.conn.network
    subnet = net.get_subnet(network.subnet_id)
    assert (subnet.network_id, subnet.cidr) == (network.network_id, TENANT_CIDR)
    router = net.get_router(network.router_id)
    gateway = router.external_gateway_info
    assert gateway["network_id"] == public_network
    assert all(ipaddress.ip_address(ip["ip_address"]) in PUBLIC_RANGE for ip in gateway["external_fixed_ips"])
    interfaces = list(net.ports(device_id=router.id, device_owner="network:router_interface"))
    assert [port.fixed_ips[0]["subnet_id"] for port in interfaces] == [network.subnet_id]


def test_floating_ip_associates_and_shows_in_the_server_addresses(
    tenant: Tenant, server: BootedServer, public_network: str
) -> None:
    conn = tenant.conn
    ip = conn.network.create_ip(floating_network_id=public_network)
    try:
        assert ipaddress.ip_address(ip.floating_ip_address) in PUBLIC_RANGE
        conn.network.update_ip(ip, port_id=server.port_id)
        assert conn.network.get_ip(ip.id).port_id == server.port_id
        # Neutron tells nova of the port change; nova refreshes the server's network info cache.
        wait_for("floating IP in the server's addresses", lambda: ip.floating_ip_address in _floating(conn, server))
        conn.network.update_ip(ip, port_id=None)
        wait_for("floating IP gone from the addresses", lambda: ip.floating_ip_address not in _floating(conn, server))
    finally:
        conn.network.delete_ip(ip)
    expect_gone(conn.network.get_ip, ip.id)


def _floating(conn: Connection, server: BootedServer) -> set[str]:
    addresses = conn.compute.get_server(server.id).addresses
    return {
        entry["addr"] for entries in addresses.values() for entry in entries if entry["OS-EXT-IPS:type"] == "floating"
    }


def test_security_group_with_a_rule_on_the_server(tenant: Tenant, server: BootedServer) -> None:
    conn = tenant.conn
    group = conn.network.create_security_group(name="haneul-test-web", description="HTTPS from the documentation range")
    try:
        rule = conn.network.create_security_group_rule(
            security_group_id=group.id,
            direction="ingress",
            ethertype="IPv4",
            protocol="tcp",
            port_range_min=443,
            port_range_max=443,
            remote_ip_prefix="203.0.113.0/24",
        )
        rules = {
            (r.direction, r.protocol, r.port_range_min)
            for r in conn.network.security_group_rules(security_group_id=group.id)
        }
        assert ("ingress", "tcp", 443) in rules
        conn.compute.add_security_group_to_server(server.id, group)
        assert group.id in conn.network.get_port(server.port_id).security_group_ids
        conn.compute.remove_security_group_from_server(server.id, group)
        assert group.id not in conn.network.get_port(server.port_id).security_group_ids
        conn.network.delete_security_group_rule(rule)
    finally:
        conn.network.delete_security_group(group)
    expect_gone(conn.network.get_security_group, group.id)


def test_vpn_objects_are_accepted_but_stay_pending_without_an_agent(tenant: Tenant, network: Network) -> None:
    """VPNaaS's API and database work; no VPN agent runs, so a service and a connection stay PENDING_CREATE."""
    net = tenant.conn.network
    ike = net.create_vpn_ike_policy(name="haneul-test-ike")
    ipsec = net.create_vpn_ipsec_policy(name="haneul-test-ipsec")
    service = net.create_vpn_service(name="haneul-test-vpn", router_id=network.router_id)
    local = net.create_vpn_endpoint_group(name="haneul-test-local", type="subnet", endpoints=[network.subnet_id])
    peer = net.create_vpn_endpoint_group(name="haneul-test-peer", type="cidr", endpoints=["203.0.113.128/25"])
    connection = net.create_vpn_ipsec_site_connection(
        name="haneul-test-site",
        vpnservice_id=service.id,
        ikepolicy_id=ike.id,
        ipsecpolicy_id=ipsec.id,
        local_ep_group_id=local.id,
        peer_ep_group_id=peer.id,
        peer_address="203.0.113.200",
        peer_id="203.0.113.200",
        psk="haneul-harness-psk",
    )
    try:
        assert net.get_vpn_service(service.id).status == "PENDING_CREATE"
        assert net.get_vpn_ipsec_site_connection(connection.id).status == "PENDING_CREATE"
        assert [c.id for c in net.vpn_ipsec_site_connections(vpnservice_id=service.id)] == [connection.id]
    finally:
        net.delete_vpn_ipsec_site_connection(connection)
        net.delete_vpn_service(service)
        for group in (local, peer):
            net.delete_vpn_endpoint_group(group)
        net.delete_vpn_ipsec_policy(ipsec)
        net.delete_vpn_ike_policy(ike)
    assert list(net.vpn_services(project_id=tenant.project_id)) == []
