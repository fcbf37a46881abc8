"""Keystone and the admin's part: tokens, the catalog, and what only an admin may do (quotas, external networks)."""

from __future__ import annotations

import pytest
from openstack import exceptions
from openstack.connection import Connection

from tests.integration.openstack.cloud import MARKS, Tenant

pytestmark = MARKS

SERVICE_TYPES = {"identity", "compute", "placement", "network", "image", "volumev3"}


def test_token_issue_for_the_admin_and_the_member(admin: Connection, tenant: Tenant) -> None:
    admin_token, member_token = admin.authorize(), tenant.conn.authorize()
    assert admin_token and member_token and admin_token != member_token
    # Keystone validates the member's token: scoped to the new project, with the member role and no admin role.
    response = admin.identity.get("/auth/tokens", headers={"X-Subject-Token": member_token})
    assert response.status_code == 200
    token = response.json()["token"]
    assert token["project"]["id"] == tenant.project_id
    roles = {role["name"] for role in token["roles"]}
    assert "member" in roles and "admin" not in roles


def test_catalog_has_every_service_on_loopback(tenant: Tenant) -> None:
    access = tenant.conn.session.auth.get_access(tenant.conn.session)
    catalog = {entry["type"]: entry["endpoints"] for entry in access.service_catalog.catalog}
    assert set(catalog) >= SERVICE_TYPES
    for service_type in SERVICE_TYPES:
        assert all(endpoint["url"].startswith("http://127.0.0.1:") for endpoint in catalog[service_type])


def test_admin_sets_the_project_quotas(admin: Connection, tenant: Tenant) -> None:
    """What the console's set_quotas does when an operator changes a project's limits."""
    admin.compute.update_quota_set(tenant.project_id, instances=20, cores=40, ram=81920)
    admin.network.update_quota(tenant.project_id, floating_ips=5, routers=3, networks=10)
    admin.block_storage.update_quota_set(tenant.project_id, volumes=15, gigabytes=500)

    compute = tenant.conn.compute.get_quota_set(tenant.project_id)
    assert (compute.instances, compute.cores, compute.ram) == (20, 40, 81920)
    network = admin.network.get_quota(tenant.project_id)
    assert (network.floating_ips, network.routers, network.networks) == (5, 3, 10)
    volume = tenant.conn.block_storage.get_quota_set(tenant.project_id)
    assert (volume.volumes, volume.gigabytes) == (15, 500)


def test_member_cannot_set_quotas_or_make_an_external_network(tenant: Tenant) -> None:
    with pytest.raises(exceptions.ForbiddenException):
        tenant.conn.compute.update_quota_set(tenant.project_id, instances=1000)
    with pytest.raises(exceptions.ForbiddenException):
        tenant.conn.network.create_network(name="haneul-test-not-allowed", is_router_external=True)
