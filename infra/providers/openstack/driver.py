"""The OpenStack driver: `CloudDriver` for one region, through openstacksdk.

The region's `settings` (no secrets: credentials stay in clouds.yaml or the environment):

- `cloud`: the clouds.yaml entry of the console's service user (an account with the admin role: it makes keystone
  projects and sets their quotas); `clouds_file`: the clouds.yaml to read (else openstacksdk's usual search,
  including OS_CLIENT_CONFIG_FILE); `region_name`: the entry's region, when it has several;
- `public_network` (default "public"): the external network default routers get their gateway on;
- `default_cidr` (default "10.0.0.0/24"): the default network's range, when the caller gives none;
- `service_role` (default "member"): the role the service user gets on each project it serves;
- `timeout` (default 30): seconds per API call.

Identity, catalog and quotas go through the service user's own (admin-scoped) connection; servers, key pairs and
networks through a connection scoped to the cloud project, so what is made belongs to that project.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from openstack import exceptions as sdk

from infra.providers.base import (
    PROJECT_TAG,
    CloudError,
    CloudProject,
    CloudServer,
    DefaultNetwork,
    Flavor,
    Health,
    HealthReport,
    Image,
    InvalidRequest,
    Keypair,
    NotFound,
    ProjectSpec,
    Quotas,
    ServerAction,
    ServerSpec,
    Status,
    request_tag,
)
from infra.providers.openstack import mapping
from infra.providers.openstack.connections import Connections
from infra.providers.openstack.errors import api_message, normalised, status_of, translate, translated

if TYPE_CHECKING:
    from openstack.connection import Connection

    from infra.models import Region

DEFAULT_DOMAIN = "default"
NETWORK_NAME = "hn-default"
SUBNET_NAME = "hn-default-subnet"
ROUTER_NAME = "hn-default-router"
SLOW_MS = 5000  # a region answering the health check slower than this is DEGRADED

# Quotas field -> (service, the SDK's attribute). -1 is "unlimited" in every service: None in `Quotas`.
NOVA_QUOTAS = {"instances": "instances", "cores": "cores", "ram_mb": "ram", "key_pairs": "key_pairs"}
NEUTRON_QUOTAS = {
    "networks": "networks",
    "subnets": "subnets",
    "routers": "routers",
    "ports": "ports",
    "floating_ips": "floating_ips",
    "security_groups": "security_groups",
    "security_group_rules": "security_group_rules",
}
CINDER_QUOTAS = {"volumes": "volumes", "gigabytes": "gigabytes", "snapshots": "snapshots"}


class OpenStackDriver:
    """One OpenStack region. Cheap to make (no call until the first use); `driver_for` keeps one per region."""

    def __init__(self, region: Region) -> None:
        settings = dict(region.settings or {})
        self.region = region
        self.public_network = str(settings.get("public_network") or "public")
        self.default_cidr = str(settings.get("default_cidr") or "10.0.0.0/24")
        self.service_role = str(settings.get("service_role") or "member")
        self.connections = Connections(settings, region_label=str(region.name or region.slug or region.pk))
        self._lock = threading.Lock()
        self._flavor_ids: dict[str, str] = {}  # flavor name -> id (servers embed their flavor without its id)
        self._role_id: str | None = None
        self._public_network_id: str | None = None

    def __repr__(self) -> str:
        return f"<OpenStackDriver {self.connections.cloud_name} for {self.region.slug or self.region.pk}>"

    # --- connections ---------------------------------------------------------------------------------------------

    @property
    def compute_microversion(self) -> str:
        """The compute microversion this region's calls are pinned to (negotiated; at least 2.52)."""
        return self.connections.compute_microversion()

    def _admin(self) -> Connection:
        return self.connections.admin()

    def _project(self, project_id: str) -> Connection:
        if not project_id:
            raise NotFound(_("No cloud project was given."))
        return self.connections.project(project_id)

    def _project_error(self, project_id: str, error: BaseException) -> CloudError:
        """A refused token scoped to a project usually means the project is gone (deleted outside the console) or
        the service user lost its role there: say which, instead of blaming the region's credentials."""
        cloud_error = translate(error)
        if status_of(error) != 401:
            return cloud_error
        try:
            with translated():
                self._admin().identity.get_project(project_id)
        except NotFound:
            self.connections.forget_project(project_id)
            return NotFound(_("The cloud project %(id)s no longer exists.") % {"id": project_id})
        except CloudError:
            return cloud_error
        self.connections.forget_project(project_id)
        return CloudError(
            _("The console's service user has no role on cloud project %(id)s (was its access removed?): %(reason)s")
            % {"id": project_id, "reason": api_message(error)}
        )

    def _in_project(self, project_id: str) -> _ProjectCalls:
        return _ProjectCalls(self, project_id)

    # --- region --------------------------------------------------------------------------------------------------

    def check_health(self) -> HealthReport:
        """One cheap authenticated call (a flavor list of one) and its latency. Never raises."""
        began = time.monotonic()
        try:
            with translated():
                conn = self._admin()
                list(conn.compute.flavors(details=False, limit=1, paginated=False))
        except CloudError as error:
            return HealthReport(Health.DOWN, error.message[:480], int((time.monotonic() - began) * 1000))
        except Exception as error:  # never raises, whatever happens
            return HealthReport(Health.DOWN, str(error)[:480] or type(error).__name__, None)
        latency = int((time.monotonic() - began) * 1000)
        if latency > SLOW_MS:
            return HealthReport(Health.DEGRADED, _("The cloud answers slowly (%(ms)s ms).") % {"ms": latency}, latency)
        return HealthReport(Health.UP, "", latency)

    # --- projects ------------------------------------------------------------------------------------------------

    @normalised
    def ensure_project(self, spec: ProjectSpec) -> CloudProject:
        identity = self._admin().identity
        project = self._find_project(spec.name)
        if project is None:
            try:
                project = identity.create_project(
                    name=spec.name,
                    domain_id=DEFAULT_DOMAIN,
                    description=spec.description,
                    tags=[PROJECT_TAG],
                    is_enabled=True,
                )
            except sdk.ConflictException:  # made meanwhile by another worker: use that one
                project = self._find_project(spec.name)
                if project is None:
                    raise
        self.grant_access(project.id)
        return _cloud_project(project)

    def _find_project(self, name: str) -> Any:
        found = list(self._admin().identity.projects(name=name, domain_id=DEFAULT_DOMAIN))
        return found[0] if found else None

    @normalised
    def get_project(self, project_id: str) -> CloudProject:
        return _cloud_project(self._admin().identity.get_project(project_id))

    @normalised
    def grant_access(self, project_id: str) -> None:
        conn = self._admin()
        identity = conn.identity
        project = identity.get_project(project_id)  # NotFound for a wrong id, before anything else
        if self._role_id is None:
            role = identity.find_role(self.service_role, ignore_missing=True)
            if role is None:
                raise CloudError(
                    _("The role %(role)s (settings: service_role) does not exist in the cloud.")
                    % {"role": self.service_role}
                )
            self._role_id = role.id
        # Keystone's role assignment is a PUT: assigning twice changes nothing.
        identity.assign_project_role_to_user(project.id, conn.current_user_id, self._role_id)

    def ensure_default_network(self, project_id: str, *, cidr: str) -> DefaultNetwork:
        with self._in_project(project_id) as conn:
            net = conn.network
            network = _first(net.networks(name=NETWORK_NAME, project_id=project_id))
            if network is None:
                network = net.create_network(name=NETWORK_NAME, description=_("Default network (Haneul)"))
            subnet = _first(net.subnets(name=SUBNET_NAME, network_id=network.id))
            if subnet is None:
                subnet = net.create_subnet(
                    network_id=network.id, name=SUBNET_NAME, ip_version=4, cidr=cidr or self.default_cidr
                )
            public_id = self._public_network()
            router = _first(net.routers(name=ROUTER_NAME, project_id=project_id))
            if router is None:
                router = net.create_router(name=ROUTER_NAME, external_gateway_info={"network_id": public_id})
            elif (router.external_gateway_info or {}).get("network_id") != public_id:
                router = net.update_router(router, external_gateway_info={"network_id": public_id})
            attached = any(
                any(ip.get("subnet_id") == subnet.id for ip in port.fixed_ips or [])
                for port in net.ports(device_id=router.id, network_id=network.id)
            )
            if not attached:
                try:
                    net.add_interface_to_router(router, subnet=subnet.id)
                except sdk.BadRequestException as error:
                    # Attached meanwhile by another worker ("already has a port on subnet"): that is what we want.
                    if "already" not in api_message(error).lower():
                        raise
            return DefaultNetwork(network_id=network.id, subnet_id=subnet.id, router_id=router.id, cidr=subnet.cidr)

    def _public_network(self) -> str:
        if self._public_network_id is None:
            network = self._admin().network.find_network(self.public_network, ignore_missing=True)
            if network is None or not network.is_router_external:
                raise CloudError(
                    _("The public network %(name)s (settings: public_network) is not an external network here.")
                    % {"name": self.public_network}
                )
            self._public_network_id = network.id
        return self._public_network_id

    @normalised
    def set_quotas(self, project_id: str, quotas: Quotas) -> None:
        conn = self._admin()
        nova = _changes(quotas, NOVA_QUOTAS)
        neutron = _changes(quotas, NEUTRON_QUOTAS)
        cinder = _changes(quotas, CINDER_QUOTAS)
        if nova:
            conn.compute.update_quota_set(project_id, **nova)
        if neutron:
            conn.network.update_quota(project_id, **neutron)
        if cinder:
            conn.block_storage.update_quota_set(project_id, **cinder)

    @normalised
    def get_quotas(self, project_id: str) -> Quotas:
        conn = self._admin()
        conn.identity.get_project(project_id)  # quota APIs answer defaults for any id: a wrong one is NotFound
        values: dict[str, int | None] = {}
        values.update(_read(conn.compute.get_quota_set(project_id), NOVA_QUOTAS))
        values.update(_read(conn.network.get_quota(project_id), NEUTRON_QUOTAS))
        with contextlib.suppress(sdk.EndpointNotFound, sdk.ServiceDiscoveryException):  # a region without volumes
            values.update(_read(conn.block_storage.get_quota_set(project_id), CINDER_QUOTAS))
        return Quotas(**values)

    # --- catalog -------------------------------------------------------------------------------------------------

    @normalised
    def list_flavors(self) -> list[Flavor]:
        flavors = [
            Flavor(
                id=f.id,
                name=f.name,
                vcpus=int(f.vcpus or 0),
                ram_mb=int(f.ram or 0),
                disk_gb=int(f.disk or 0),
                is_public=bool(f.is_public),
            )
            for f in self._admin().compute.flavors(details=True)
        ]
        with self._lock:
            self._flavor_ids.update({f.name: f.id for f in flavors})
        return flavors

    def _flavor_id(self, flavor: Any) -> str:
        """A server's flavor id. From 2.47 nova embeds the flavor (`original_name`, sizes) without its id, so the id is
        looked up by name (nova's flavor names are unique; the map is cached and refreshed once for a new name)."""
        if flavor is None:
            return ""
        name = getattr(flavor, "original_name", None) or (
            flavor.get("original_name") if isinstance(flavor, dict) else None
        )
        if not name:  # before 2.47: {"id": ..., "links": ...}
            return str((flavor.get("id") if isinstance(flavor, dict) else getattr(flavor, "id", None)) or "")
        if name not in self._flavor_ids:
            self.list_flavors()
        return self._flavor_ids.get(name, "")

    @normalised
    def list_images(self) -> list[Image]:
        return [
            Image(
                id=i.id,
                name=i.name or "",
                status=i.status or "",
                size_bytes=int(i.size or 0),
                min_disk_gb=int(i.min_disk or 0),
                min_ram_mb=int(i.min_ram or 0),
                os_distro=str(i.os_distro or ""),
                os_version=str(i.os_version or ""),
                visibility=i.visibility or "public",
            )
            for i in self._admin().image.images()
        ]

    # --- key pairs -----------------------------------------------------------------------------------------------

    def create_keypair(self, project_id: str, name: str, public_key: str) -> Keypair:
        with self._in_project(project_id) as conn:
            return _keypair(conn.compute.create_keypair(name=name, public_key=public_key, type="ssh"))

    def list_keypairs(self, project_id: str) -> list[Keypair]:
        with self._in_project(project_id) as conn:
            return [_keypair(k) for k in conn.compute.keypairs()]

    def delete_keypair(self, project_id: str, name: str) -> None:
        with self._in_project(project_id) as conn:
            conn.compute.delete_keypair(name, ignore_missing=True)

    # --- servers -------------------------------------------------------------------------------------------------

    def create_server(self, project_id: str, spec: ServerSpec) -> CloudServer:
        """Looks for a server with the request's tag first: a retried create returns the server, not a second one."""
        existing = self.find_server(project_id, request_id=spec.request_id)
        if existing is not None:
            return existing
        attrs: dict[str, Any] = {
            "name": spec.name,
            "flavor_id": spec.flavor_id,
            "image_id": spec.image_id,
            # nova's "auto": the project's one network (or a new one where the cloud allocates them).
            "networks": [{"uuid": network_id} for network_id in spec.network_ids] or "auto",
            "tags": [request_tag(spec.request_id)],
        }
        if spec.keypair_name:
            attrs["key_name"] = spec.keypair_name
        if spec.user_data:
            attrs["user_data"] = base64.b64encode(spec.user_data.encode()).decode("ascii")
        if spec.security_groups:
            attrs["security_groups"] = [{"name": group} for group in spec.security_groups]
        if spec.metadata:
            attrs["metadata"] = dict(spec.metadata)
        with self._in_project(project_id) as conn:
            created = conn.compute.create_server(**attrs)
            return self._cloud_server(conn.compute.get_server(created.id))

    def find_server(self, project_id: str, *, request_id: str) -> CloudServer | None:
        with self._in_project(project_id) as conn:
            for server in conn.compute.servers(details=True, tags=request_tag(request_id)):
                found = self._cloud_server(server)
                if found.status != Status.DELETED:
                    return found
        return None

    def get_server(self, project_id: str, server_id: str) -> CloudServer:
        with self._in_project(project_id) as conn:
            return self._cloud_server(conn.compute.get_server(server_id))

    def list_servers(self, project_id: str) -> list[CloudServer]:
        """Every page (openstacksdk follows nova's links). A server nova has just deleted stays listed as DELETED for
        a second or two before its row goes, and still counts against the instances quota meanwhile: it is listed
        as DELETED (the reconciler treats it as gone), not hidden."""
        with self._in_project(project_id) as conn:
            return [self._cloud_server(server) for server in conn.compute.servers(details=True)]

    def server_action(self, project_id: str, server_id: str, action: ServerAction) -> None:
        with self._in_project(project_id) as conn:
            compute = conn.compute
            kind = action.kind
            if kind == "start":
                compute.start_server(server_id)
            elif kind == "stop":
                compute.stop_server(server_id)
            elif kind == "reboot":
                compute.reboot_server(server_id, "HARD" if action.hard else "SOFT")
            elif kind == "resize":
                compute.resize_server(server_id, _required(action.flavor_id, "flavor_id"))
            elif kind == "confirm_resize":
                compute.confirm_server_resize(server_id)
            elif kind == "revert_resize":
                compute.revert_server_resize(server_id)
            elif kind == "rebuild":
                compute.rebuild_server(server_id, image=_required(action.image_id, "image_id"))
            elif kind == "rename":
                compute.update_server(server_id, name=_required(action.name, "name"))
            elif kind == "lock":
                compute.lock_server(server_id)
            elif kind == "unlock":
                compute.unlock_server(server_id)
            else:
                raise InvalidRequest(_("Unknown server action: %(kind)s") % {"kind": kind})

    def delete_server(self, project_id: str, server_id: str) -> None:
        try:
            with self._in_project(project_id) as conn:
                conn.compute.delete_server(server_id, ignore_missing=True)
        except NotFound:  # already gone (or its project is): nothing to delete
            pass

    def console_log(self, project_id: str, server_id: str, *, lines: int = 200) -> str:
        with self._in_project(project_id) as conn:
            output = conn.compute.get_server_console_output(server_id, length=lines)
        return str((output or {}).get("output") or "")

    def _cloud_server(self, server: Any) -> CloudServer:
        return mapping.cloud_server(server, self._flavor_id)


class _ProjectCalls:
    """`with driver._in_project(project_id) as conn:` — the project's connection, and its errors normalised (a 401
    there is explained: the project vanished, or the service user lost its role)."""

    def __init__(self, driver: OpenStackDriver, project_id: str) -> None:
        self.driver = driver
        self.project_id = project_id

    def __enter__(self) -> Connection:
        try:
            return self.driver._project(self.project_id)
        except CloudError:
            raise
        except Exception as error:  # making the compute proxy authenticates (endpoint discovery): a 401 is possible
            raise self.driver._project_error(self.project_id, error) from error

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> bool:
        if error is None or isinstance(error, CloudError) or not isinstance(error, Exception):
            return False
        raise self.driver._project_error(self.project_id, error) from error


# --- helpers ---------------------------------------------------------------------------------------------------------


def _cloud_project(project: Any) -> CloudProject:
    return CloudProject(
        id=project.id,
        name=project.name or "",
        enabled=bool(project.is_enabled),
        description=project.description or "",
    )


def _keypair(keypair: Any) -> Keypair:
    return Keypair(
        name=keypair.name,
        fingerprint=keypair.fingerprint or "",
        public_key=keypair.public_key or "",
        type=keypair.type or "ssh",
    )


def _first(items: Any) -> Any:
    """The oldest of what a list call found (two workers may have raced to make the same thing), or None."""
    found = list(items)
    if not found:
        return None
    return sorted(found, key=lambda item: (getattr(item, "created_at", None) or "", item.id))[0]


def _changes(quotas: Quotas, fields: dict[str, str]) -> dict[str, int]:
    return {attr: int(getattr(quotas, field)) for field, attr in fields.items() if getattr(quotas, field) is not None}


def _read(quota_set: Any, fields: dict[str, str]) -> dict[str, int | None]:
    values: dict[str, int | None] = {}
    for field, attr in fields.items():
        value = getattr(quota_set, attr, None)
        if isinstance(value, dict):  # some microversions answer {"limit": n, "in_use": …}
            value = value.get("limit")
        values[field] = None if value is None or int(value) < 0 else int(value)
    return values


def _required(value: str | None, what: str) -> str:
    if not value:
        raise InvalidRequest(_("This server action needs %(what)s.") % {"what": what})
    return value
