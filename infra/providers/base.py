"""The provider layer's contract: what the console asks of a cloud, in the console's own words.

A driver (`infra.providers.sandbox`, `infra.providers.openstack`, later others) implements `CloudDriver` for one
region. It takes and returns the dataclasses below, never SDK objects, maps the cloud's statuses to `Status`, and
raises only `CloudError`s: permanent ones (the request itself is wrong: retrying cannot help) or `Unavailable`
(timeouts, 5xx, connection errors: retrying may help). Only Celery tasks call drivers; pages never do.

Every call names the cloud project it acts in (`project_id`, the cloud's id of it); a driver keeps what it needs per
(region, cloud project), e.g. one authenticated connection each.

Idempotent creates: `ServerSpec.request_id` (a UUID kept on the console's row) travels with the server as a tag
(`request_tag`) and `find_server(request_id=...)` finds it again, so a retried create never makes a second server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from django.db import models
from django.utils.translation import pgettext_lazy

REQUEST_TAG_PREFIX = "hn-req-"  # server tags: "hn-req-<request_id>"; at most 60 characters per nova tag
PROJECT_TAG = "haneul"  # cloud projects the console made carry this tag


def request_tag(request_id: str) -> str:
    return f"{REQUEST_TAG_PREFIX}{request_id}"


def request_id_from_tags(tags: Sequence[str]) -> str | None:
    for tag in tags:
        if tag.startswith(REQUEST_TAG_PREFIX):
            return tag[len(REQUEST_TAG_PREFIX) :]
    return None


# --- statuses ------------------------------------------------------------------------------------------------------


class Status(models.TextChoices):
    """A server's status in the console (every cloud's statuses map to these). Labels follow GLOSSARY.md."""

    PENDING = "PENDING", pgettext_lazy("server status", "Queued")
    CREATING = "CREATING", pgettext_lazy("server status", "Requesting")
    BUILDING = "BUILDING", pgettext_lazy("server status", "Building")
    ACTIVE = "ACTIVE", pgettext_lazy("server status", "Running")
    STARTING = "STARTING", pgettext_lazy("server status", "Starting")
    STOPPING = "STOPPING", pgettext_lazy("server status", "Stopping")
    STOPPED = "STOPPED", pgettext_lazy("server status", "Stopped")
    REBOOTING = "REBOOTING", pgettext_lazy("server status", "Rebooting")
    RESIZING = "RESIZING", pgettext_lazy("server status", "Changing type")
    VERIFY_RESIZE = "VERIFY_RESIZE", pgettext_lazy("server status", "Confirm type change")
    REVERTING = "REVERTING", pgettext_lazy("server status", "Reverting type change")
    REBUILDING = "REBUILDING", pgettext_lazy("server status", "Rebuilding")
    DELETING = "DELETING", pgettext_lazy("server status", "Deleting")
    DELETED = "DELETED", pgettext_lazy("server status", "Deleted")
    ERROR = "ERROR", pgettext_lazy("server status", "Error")


# Statuses in which the console waits for the cloud; every other status is settled.
TRANSITIONAL = frozenset(
    {
        Status.PENDING,
        Status.CREATING,
        Status.BUILDING,
        Status.STARTING,
        Status.STOPPING,
        Status.REBOOTING,
        Status.RESIZING,
        Status.REVERTING,
        Status.REBUILDING,
        Status.DELETING,
    }
)
SETTLED = frozenset(set(Status) - TRANSITIONAL)
# A server holds its flavor's vCPUs and RAM (and is metered) while powered on.
POWERED_ON = frozenset(
    {Status.ACTIVE, Status.STOPPING, Status.REBOOTING, Status.RESIZING, Status.VERIFY_RESIZE, Status.REVERTING}
    | {Status.REBUILDING}
)


class Health(models.TextChoices):
    """A region's health, as the last check found it."""

    UNKNOWN = "unknown", pgettext_lazy("region health", "Not checked yet")
    UP = "up", pgettext_lazy("region health", "Up")
    DEGRADED = "degraded", pgettext_lazy("region health", "Degraded")
    DOWN = "down", pgettext_lazy("region health", "Down")


# --- errors --------------------------------------------------------------------------------------------------------


class CloudError(Exception):
    """A cloud call failed. `message` is readable by a person; `permanent` says whether a retry could help."""

    permanent = True
    code = "cloud_error"

    def __init__(self, message: str, *, permanent: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if permanent is not None:
            self.permanent = permanent

    def __str__(self) -> str:
        return self.message


class NotFound(CloudError):
    code = "not_found"


class Conflict(CloudError):
    """The resource is not in a state that allows this (e.g. starting a running server, a locked server)."""

    code = "conflict"


class QuotaExceeded(CloudError):
    code = "quota_exceeded"


class InvalidRequest(CloudError):
    code = "invalid_request"


class Unavailable(CloudError):
    """Timeouts, 5xx answers, refused connections, a region outage: transient, worth retrying."""

    permanent = False
    code = "unavailable"


# --- specs and results ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloudProject:
    id: str
    name: str
    enabled: bool = True
    description: str = ""


@dataclass(frozen=True)
class ProjectSpec:
    """A cloud project for a console project. `name` is unique in the region (e.g. "hn-<project uuid>")."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class DefaultNetwork:
    """A project's default private network, routed to the region's public network."""

    network_id: str
    subnet_id: str
    router_id: str
    cidr: str


@dataclass(frozen=True)
class Quotas:
    """Limits of a cloud project; None leaves a limit as it is (set) or means unknown/unlimited (get)."""

    instances: int | None = None
    cores: int | None = None
    ram_mb: int | None = None
    key_pairs: int | None = None
    networks: int | None = None
    subnets: int | None = None
    routers: int | None = None
    ports: int | None = None
    floating_ips: int | None = None
    security_groups: int | None = None
    security_group_rules: int | None = None
    volumes: int | None = None
    gigabytes: int | None = None
    snapshots: int | None = None


@dataclass(frozen=True)
class Flavor:
    id: str
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    is_public: bool = True


@dataclass(frozen=True)
class Image:
    id: str
    name: str
    status: str  # "active" when usable
    size_bytes: int = 0
    min_disk_gb: int = 0
    min_ram_mb: int = 0
    os_distro: str = ""
    os_version: str = ""
    visibility: str = "public"


@dataclass(frozen=True)
class Keypair:
    name: str
    fingerprint: str
    public_key: str
    type: str = "ssh"


@dataclass(frozen=True)
class ServerSpec:
    """One server to create. One cloud create per spec (no min/max count)."""

    name: str
    flavor_id: str
    image_id: str
    request_id: str
    network_ids: tuple[str, ...] = ()
    keypair_name: str | None = None
    user_data: str | None = None  # cloud-init, plain text (the driver encodes it)
    security_groups: tuple[str, ...] = ()  # names or ids
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Address:
    ip: str
    version: int  # 4 or 6
    kind: Literal["fixed", "floating"]
    network: str = ""  # the network's name as the cloud reports it
    mac: str = ""


@dataclass(frozen=True)
class CloudServer:
    id: str
    name: str
    status: Status  # mapped by the driver
    cloud_status: str  # the cloud's own words (e.g. nova's "SHUTOFF"), for logs and operators
    flavor_id: str
    image_id: str
    request_id: str | None = None  # from the request tag, when the console made it
    addresses: tuple[Address, ...] = ()
    locked: bool = False
    task_state: str | None = None  # e.g. "spawning", "powering-off"
    fault: str | None = None  # why it is in ERROR, when the cloud says
    created_at: dt.datetime | None = None
    keypair_name: str | None = None


ServerActionKind = Literal[
    "start", "stop", "reboot", "resize", "confirm_resize", "revert_resize", "rebuild", "rename", "lock", "unlock"
]


@dataclass(frozen=True)
class ServerAction:
    """One lifecycle action. `flavor_id` for resize, `image_id` for rebuild, `name` for rename, `hard` for reboot."""

    kind: ServerActionKind
    flavor_id: str | None = None
    image_id: str | None = None
    name: str | None = None
    hard: bool = False


@dataclass(frozen=True)
class HealthReport:
    health: Health
    message: str = ""
    latency_ms: int | None = None


# --- the driver ----------------------------------------------------------------------------------------------------


@runtime_checkable
class CloudDriver(Protocol):
    """One region's cloud. Every method may raise `CloudError`; none returns SDK objects.

    Later issues add networks, subnets, routers, floating IPs, security groups, volumes, snapshots, VPN and metrics.
    """

    # region
    def check_health(self) -> HealthReport:
        """Never raises: a region that does not answer is DOWN, with the reason."""
        ...

    # projects
    def ensure_project(self, spec: ProjectSpec) -> CloudProject:
        """Create the cloud project named `spec.name`, or return it if it exists (idempotent), and give the console's
        service user access to it."""
        ...

    def get_project(self, project_id: str) -> CloudProject:
        """The cloud project, or `NotFound` (it was deleted outside the console, or the id is wrong)."""
        ...

    def grant_access(self, project_id: str) -> None:
        """Give the console's service user access to an existing project (linking one); idempotent."""
        ...

    def ensure_default_network(self, project_id: str, *, cidr: str) -> DefaultNetwork:
        """The project's default private network + subnet + router to the public network (idempotent by name)."""
        ...

    def set_quotas(self, project_id: str, quotas: Quotas) -> None: ...

    def get_quotas(self, project_id: str) -> Quotas: ...

    # catalog
    def list_flavors(self) -> list[Flavor]: ...

    def list_images(self) -> list[Image]: ...

    # keypairs (they belong to the console's service user: callers namespace the names)
    def create_keypair(self, project_id: str, name: str, public_key: str) -> Keypair: ...

    def list_keypairs(self, project_id: str) -> list[Keypair]: ...

    def delete_keypair(self, project_id: str, name: str) -> None:
        """Idempotent: a missing key pair is not an error."""
        ...

    # servers
    def create_server(self, project_id: str, spec: ServerSpec) -> CloudServer:
        """Ask for one server; returns at once (status BUILDING, usually). Tags it with `request_tag`."""
        ...

    def find_server(self, project_id: str, *, request_id: str) -> CloudServer | None:
        """The server made for `request_id`, if any (a deleted one is not found)."""
        ...

    def get_server(self, project_id: str, server_id: str) -> CloudServer:
        """The server, or `NotFound` once it is gone."""
        ...

    def list_servers(self, project_id: str) -> list[CloudServer]:
        """Every server of the project (all pages)."""
        ...

    def server_action(self, project_id: str, server_id: str, action: ServerAction) -> None:
        """Ask for a lifecycle action; returns at once. `Conflict` when the server's state does not allow it."""
        ...

    def delete_server(self, project_id: str, server_id: str) -> None:
        """Ask for deletion; returns at once. A missing server is not an error."""
        ...

    def console_log(self, project_id: str, server_id: str, *, lines: int = 200) -> str: ...
