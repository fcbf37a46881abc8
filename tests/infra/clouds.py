"""The clouds the driver contract suite runs against: one `CloudUnderTest` per provider.

`sandbox_cloud()` needs the test database (the sandbox keeps its own tables); `openstack_cloud()` needs the local
OpenStack (`make openstack`) and makes one fresh cloud project per test session, swept at the end.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infra.models import Region
from infra.providers.base import CloudDriver, CloudServer, NotFound, Status

T = TypeVar("T")


@dataclass
class CloudUnderTest:
    """A driver with a cloud project ready to use: a default network, and what servers need."""

    name: str  # "sandbox" or "openstack"
    region: Region
    driver: CloudDriver
    project_id: str  # the cloud project (the driver's id)
    network_id: str  # the project's default private network
    flavor_id: str  # a small flavor
    bigger_flavor_id: str  # another flavor to resize to
    image_id: str  # an active image
    timeout: float  # seconds a server operation may take to settle on this cloud


# --- helpers of tests that talk to a driver (the contract suite, the sandbox's own tests) ---


def poll(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Call `probe` until it returns something truthy, waiting 20 ms at first and up to 1 s between calls (fast on
    the sandbox, gentle on OpenStack); fail saying what never happened."""
    deadline = time.monotonic() + timeout
    interval = 0.02
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
        interval = min(interval * 2, 1.0)


def wait_for_status(cloud: CloudUnderTest, server_id: str, statuses: Collection[Status], timeout: float) -> CloudServer:
    """Wait until the server has one of `statuses` and no task in progress. Fails at once on ERROR (unless ERROR is
    awaited), with the cloud's fault."""
    last: list[CloudServer] = []

    def probe() -> CloudServer | None:
        server = cloud.driver.get_server(cloud.project_id, server_id)
        last[:] = [server]
        if server.status == Status.ERROR and Status.ERROR not in statuses:
            raise AssertionError(f"server {server_id} went to ERROR: {server.fault}")
        return server if server.status in statuses and not server.task_state else None

    try:
        return poll(f"server {server_id} {'/'.join(sorted(statuses))}", probe, timeout)
    except AssertionError as error:
        seen = f" (last seen {last[0].status}, task {last[0].task_state})" if last else ""
        raise AssertionError(f"{error}{seen}") from None


def wait_until_gone(cloud: CloudUnderTest, server_id: str) -> None:
    """Wait until `get_server` raises NotFound (any other answer, DELETING included, means not yet)."""

    def probe() -> bool:
        try:
            cloud.driver.get_server(cloud.project_id, server_id)
        except NotFound:
            return True
        return False

    poll(f"server {server_id} deleted", probe, cloud.timeout)


def ssh_public_key() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def md5_fingerprint(public_key: str) -> str:
    """The fingerprint nova shows for an SSH key: MD5 of the key blob, as colon-separated hex."""
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()  # noqa: S324 - nova's format
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
