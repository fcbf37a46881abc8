"""Reaching the local OpenStack from the tests: where its clouds.yaml is, connections, and waiting on it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from openstack import exceptions
from openstack.config.loader import OpenStackConfig
from openstack.connection import Connection

ROOT = Path(__file__).resolve().parents[3]
# Written by `make openstack`; point these at another clouds.yaml and entry to run the tests against another cloud.
CLOUDS_YAML = Path(os.environ.get("HANEUL_OPENSTACK_CLOUDS") or ROOT / ".openstack" / "clouds.yaml")
CLOUD = os.environ.get("HANEUL_OPENSTACK_CLOUD") or "haneul-local-admin"
PUBLIC_NETWORK = "public"  # 203.0.113.0/24 (TEST-NET-3), made by `make openstack`
TENANT_CIDR = "198.51.100.0/24"  # TEST-NET-2: nothing is routed anyway, and no test names a real network
IMAGE = "haneul-tiny"
FLAVOR = "m1.nano"
BIGGER_FLAVOR = "m1.micro"
TIMEOUT = 120.0  # seconds for one cloud operation to settle (measured: seconds; slow only under load)

T = TypeVar("T")

# Every test module here: `pytestmark = MARKS`. openstacksdk 4.x warns about its own internals on ordinary calls
# (our own find_* calls all pass ignore_missing=False).
MARKS = [
    pytest.mark.openstack,
    *(
        pytest.mark.filterwarnings(f"ignore:{message}:PendingDeprecationWarning")
        for message in (
            "The _compute_attributes method is deprecated",
            "The 'service_type' parameter is unnecesary",
            "The ignore_missing parameter of all find_",
            "Support for InfluxDB requires",
        )
    ),
]


@dataclass
class Tenant:
    """A project made for this run and its one user, who has only the `member` role."""

    project_id: str
    user_id: str
    conn: Connection


@dataclass
class Network:
    network_id: str
    subnet_id: str
    router_id: str


@dataclass
class BootedServer:
    id: str
    port_id: str
    request_tag: str  # what the console will set on every create (ARCHITECTURE.md section 4)
    boot_seconds: float
    tags: list[str] = field(default_factory=list)


def admin_connection() -> Connection:
    """The admin connection of the clouds.yaml entry (admin role in its project)."""
    if not CLOUDS_YAML.exists():
        raise FileNotFoundError(f"{CLOUDS_YAML} does not exist")
    # Only this file: no OS_* variables, no ~/.config/openstack, nothing else of the machine's.
    config = OpenStackConfig(config_files=[str(CLOUDS_YAML)], secure_files=[], vendor_files=[], load_envvars=False)
    return Connection(config=config.get_one(cloud=CLOUD))


def member_connection(admin: Connection, *, username: str, password: str, project_id: str) -> Connection:
    """A connection as a plain user of one project, through the same keystone and region as `admin`."""
    return Connection(
        auth_url=admin.config.config["auth"]["auth_url"],
        username=username,
        password=password,
        user_domain_id="default",
        project_id=project_id,
        region_name=admin.config.region_name,
        interface=admin.config.config.get("interface", "public"),
        identity_api_version="3",
    )


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = TIMEOUT, interval: float = 0.5) -> T:
    """Poll `probe` until it returns something truthy; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def server_settled(conn: Connection, server_id: str, status: str) -> Any:
    """Wait until the server has `status` and no task in progress; fail at once on ERROR. Returns the server."""

    def probe() -> Any:
        server = conn.compute.get_server(server_id)
        assert server.status != "ERROR", f"server went to ERROR: {server.fault}"
        return server if server.status == status and server.task_state is None else None

    return wait_for(f"server {server_id} {status}", probe)


def volume_status(conn: Connection, volume_id: str, status: str) -> Any:
    """Wait until the volume has `status`; fail at once on an error status. Returns the volume."""

    def probe() -> Any:
        volume = conn.block_storage.get_volume(volume_id)
        assert volume.status not in ("error", "error_attaching", "error_detaching"), volume.status
        return volume if volume.status == status else None

    return wait_for(f"volume {volume_id} {status}", probe)


def expect_gone(get: Callable[[str], object], resource_id: str) -> None:
    """Wait until `get(id)` raises NotFound: the resource is deleted."""

    def probe() -> bool:
        try:
            get(resource_id)
        except exceptions.NotFoundException:
            return True
        return False

    wait_for(f"{resource_id} deleted", probe)
