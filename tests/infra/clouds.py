"""The clouds the driver contract suite runs against: one `CloudUnderTest` per provider.

`sandbox_cloud()` needs the test database (the sandbox keeps its own tables); `openstack_cloud()` needs the local
OpenStack (`make openstack`) and makes one fresh cloud project per test session, swept at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.models import Region
from infra.providers.base import CloudDriver


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
