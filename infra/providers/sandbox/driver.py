"""The sandbox region's driver: a small nova/neutron/keystone-like cloud kept in the sandbox's own tables.

It behaves like the OpenStack region as the console sees it through `CloudDriver`: asynchronous servers with
nova's state rules, quotas, addresses from real subnets, key pairs, a console log, and errors of the same kinds with
readable messages. No process advances it: each server row stores the transition in progress (started when, how
long, ending in what) and every read derives the state at that moment, so it works in any worker, shell or test.
Writes take row locks (the server, or the project for creates), so concurrent callers agree.

Region settings (`Region.settings`, read fresh from the database on every call — operators and tests change them
live):

- `speed` (float, default 1.0): divides every duration. At 1.0 a build takes 4 s, stop/start 2 s, soft reboot 3 s,
  hard reboot 4 s, resize 5 s (to VERIFY_RESIZE), confirm 1 s, revert 3 s, rebuild 5 s, delete 2 s; tests use
  200 to 1000 to make all of it take milliseconds.
- `timings` (dict): override any base duration above by its key (build, stop, start, reboot, hard_reboot, resize,
  confirm, revert, rebuild, delete).
- `latency_ms` (int, default 0): added to every call (check_health included).
- `error_rate` (0..1, default 0): that share of calls raise `Unavailable`; `check_health` reports DEGRADED.
  `seed` (any) seeds the driver's random numbers, so a test replays the same sequence.
- `outage` (bool): every call raises Unavailable("Region … does not answer."); `check_health` reports DOWN.
- `faults` (a list, or one dict): one-shot faults, consumed atomically (the region row locked, `times` decremented,
  used-up faults removed), e.g. `[{"op": "create_server", "error": "unavailable", "times": 1}]`. Keys: `op` (a
  `CloudDriver` method name, or "*" for any), `error` (unavailable, invalid, quota, conflict, not_found, or
  build_error), `times` (default 1), `after` (true: the call takes effect in the cloud, then the error is raised — a
  timeout after the cloud acted; with `hang_ms`, the call first hangs that long — a worker can be killed there),
  `message` (instead of the default text). `"error": "build_error"` (or
  `"build_error": true`) on `create_server` lets the create succeed and the server end its build in ERROR with a
  fault message (a cloud-side failure).
- `default_quotas` (dict): a project's limits before any `set_quotas` (Quotas field names; -1 is unlimited).
  Defaults are nova's/neutron's/cinder's: 10 instances, 20 cores, 50 GiB RAM, 100 key pairs, 50 ports, …
- `public_network` / `public_cidr`: the region's external network, where each project's router takes an address
  (default "public", 198.18.0.0/15: the benchmarking range, never routed, room for 130,000 routers).
- `dedupe_requests` (bool, default false, like nova): true makes a create whose request id already has a live server
  in the project return that server instead of making a second one (a row lock per project makes two concurrent
  creates agree). Off by default so that the sandbox never hides a console that would create twice.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import ipaddress
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.providers.base import (
    PROJECT_TAG,
    Address,
    CloudProject,
    CloudServer,
    Conflict,
    DefaultNetwork,
    Flavor,
    Health,
    HealthReport,
    Image,
    InvalidRequest,
    Keypair,
    NotFound,
    ProjectSpec,
    QuotaExceeded,
    Quotas,
    ServerAction,
    ServerSpec,
    Status,
    request_id_from_tags,
    request_tag,
)
from infra.providers.sandbox import consolelog
from infra.providers.sandbox.catalog import FLAVORS, IMAGES
from infra.providers.sandbox.injection import Injector, Settings
from infra.providers.sandbox.models import (
    SandboxFlavor,
    SandboxImage,
    SandboxKeypair,
    SandboxNetwork,
    SandboxPort,
    SandboxProject,
    SandboxQuota,
    SandboxRouter,
    SandboxServer,
    SandboxSubnet,
)

DEFAULT_NETWORK = "hn-default"
DEFAULT_SUBNET = "hn-default-subnet"
DEFAULT_ROUTER = "hn-default-router"

# nova/neutron/cinder defaults
DEFAULT_QUOTAS = {
    "instances": 10,
    "cores": 20,
    "ram_mb": 51200,
    "key_pairs": 100,
    "networks": 100,
    "subnets": 100,
    "routers": 10,
    "ports": 50,
    "floating_ips": 50,
    "security_groups": 10,
    "security_group_rules": 100,
    "volumes": 10,
    "gigabytes": 1000,
    "snapshots": 10,
}
QUOTA_FIELDS = tuple(DEFAULT_QUOTAS)
NOVA_CHECKED = frozenset({"instances", "cores", "ram_mb", "key_pairs"})  # nova refuses a limit below what is used

# A running task: (status shown, nova's status, nova's task_state).
TASKS: dict[str, tuple[Status, str, str | None]] = {
    "build": (Status.BUILDING, "BUILD", "spawning"),
    "stop": (Status.STOPPING, "ACTIVE", "powering-off"),
    "start": (Status.STARTING, "SHUTOFF", "powering-on"),
    "reboot": (Status.REBOOTING, "REBOOT", "reboot_started"),
    "hard_reboot": (Status.REBOOTING, "HARD_REBOOT", "reboot_started_hard"),
    "resize": (Status.RESIZING, "RESIZE", "resize_migrating"),
    "confirm": (Status.VERIFY_RESIZE, "VERIFY_RESIZE", None),  # as nova: no task_state while confirming
    "revert": (Status.REVERTING, "REVERT_RESIZE", "resize_reverting"),
    "rebuild": (Status.REBUILDING, "REBUILD", "rebuilding"),
    "delete": (Status.DELETING, "ACTIVE", "deleting"),
}
CLOUD_STATUS = {
    Status.ACTIVE: "ACTIVE",
    Status.STOPPED: "SHUTOFF",
    Status.VERIFY_RESIZE: "VERIFY_RESIZE",
    Status.ERROR: "ERROR",
    Status.BUILDING: "BUILD",
}
VM_STATE = {  # nova's vm_state words, for messages
    Status.ACTIVE: "active",
    Status.STOPPED: "stopped",
    Status.VERIFY_RESIZE: "resized",
    Status.ERROR: "error",
    Status.BUILDING: "building",
}
TASK_VERB = {  # nova's words in "Cannot '<verb>' instance … while it is in …"
    "start": "start",
    "stop": "stop",
    "reboot": "reboot",
    "resize": "resize",
    "confirm_resize": "confirmResize",
    "revert_resize": "revertResize",
    "rebuild": "rebuild",
}
NAME_MAX = 255
KEYPAIR_NAME = re.compile(r"^[a-zA-Z0-9 _.@-]{1,255}$")
KEY_TYPES = {"ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-dss"}


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _md5_fingerprint(blob: bytes) -> str:
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324 - nova's fingerprint format for SSH keys
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _mac() -> str:
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))


class SandboxDriver:
    """`CloudDriver` for a sandbox region. Cheap to make; keeps nothing but the region's id (and a seeded RNG)."""

    # Optional capabilities (infra.providers.supports): failure-injection settings are read on every call.
    capabilities = frozenset({"failure_injection"})

    def __init__(self, region: Any) -> None:
        self.region_id: uuid.UUID = region.pk
        self.region_name: str = region.name
        self.injector = Injector(region)
        self._catalog_seeded = False

    # --- region -----------------------------------------------------------------------------------------------------

    def check_health(self) -> HealthReport:
        started = time.monotonic()
        try:
            settings = self.injector.read()
            if settings.latency_ms:
                time.sleep(settings.latency_ms / 1000)
            if settings.outage:
                return HealthReport(Health.DOWN, self.injector.down_message(settings))
            if any(f.get("op") == "check_health" for f in settings.faults):
                fault = self.injector.take_fault("check_health")
                if fault is not None:
                    return HealthReport(Health.DOWN, str(fault.get("message") or self.injector.down_message(settings)))
            self._seed_catalog()
            SandboxFlavor.objects.filter(region_id=self.region_id).exists()
            latency = int((time.monotonic() - started) * 1000)
            if settings.error_rate > 0:
                return HealthReport(
                    Health.DEGRADED,
                    _("%(percent)s of calls fail (injected error rate).") % {"percent": f"{settings.error_rate:.0%}"},
                    latency,
                )
            return HealthReport(Health.UP, "", latency)
        except Exception as error:
            return HealthReport(Health.DOWN, str(error) or error.__class__.__name__)

    # --- projects ---------------------------------------------------------------------------------------------------

    def ensure_project(self, spec: ProjectSpec) -> CloudProject:
        with self.injector.call("ensure_project"):
            name = spec.name.strip()
            if not name or len(name) > 64:
                raise InvalidRequest(_("A project name must be 1 to 64 characters long."))
            project, _created = SandboxProject.objects.get_or_create(
                region_id=self.region_id,
                name=name,
                defaults={"description": spec.description, "tags": [PROJECT_TAG], "access_granted": True},
            )
            if not project.access_granted:
                SandboxProject.objects.filter(pk=project.pk).update(access_granted=True)
            return self._project_result(project)

    def get_project(self, project_id: str) -> CloudProject:
        with self.injector.call("get_project"):
            return self._project_result(self._project(project_id))

    def grant_access(self, project_id: str) -> None:
        with self.injector.call("grant_access"):
            project = self._project(project_id)
            if not project.access_granted:
                SandboxProject.objects.filter(pk=project.pk).update(access_granted=True)

    def ensure_default_network(self, project_id: str, *, cidr: str) -> DefaultNetwork:
        with self.injector.call("ensure_default_network") as call:
            try:
                network_range = ipaddress.ip_network(cidr)
            except ValueError:
                raise InvalidRequest(_("%(cidr)s is not a valid network range.") % {"cidr": cidr}) from None
            if network_range.version != 4 or network_range.prefixlen > 29:
                raise InvalidRequest(
                    _("%(cidr)s is too small: an IPv4 range of /29 or larger is needed.") % {"cidr": cidr}
                )
            public = self._public_subnet(call.settings)
            with transaction.atomic():
                project = self._project(project_id, lock=True)
                network, _new = SandboxNetwork.objects.get_or_create(
                    region_id=self.region_id, project=project, name=DEFAULT_NETWORK, external=False
                )
                subnet = network.subnets.filter(name=DEFAULT_SUBNET).first()
                if subnet is None:
                    hosts = network_range.hosts()
                    subnet = SandboxSubnet.objects.create(
                        network=network, name=DEFAULT_SUBNET, cidr=str(network_range), gateway_ip=str(next(hosts))
                    )
                    SandboxPort.objects.create(
                        subnet=subnet, device_owner="network:dhcp", ip=str(next(hosts)), mac=_mac()
                    )
                router, _new = SandboxRouter.objects.get_or_create(
                    region_id=self.region_id,
                    project=project,
                    name=DEFAULT_ROUTER,
                    defaults={"external_network": public.network},
                )
                if router.external_network_id is None:
                    SandboxRouter.objects.filter(pk=router.pk).update(external_network=public.network)
                if not SandboxPort.objects.filter(router=router, subnet=public).exists():
                    self._allocate(public, device_owner="network:router_gateway", router=router)
                if not SandboxPort.objects.filter(router=router, subnet=subnet).exists():
                    SandboxPort.objects.create(
                        subnet=subnet,
                        router=router,
                        device_owner="network:router_interface",
                        ip=subnet.gateway_ip,
                        mac=_mac(),
                    )
            return DefaultNetwork(
                network_id=str(network.id), subnet_id=str(subnet.id), router_id=str(router.id), cidr=subnet.cidr
            )

    def set_quotas(self, project_id: str, quotas: Quotas) -> None:
        with self.injector.call("set_quotas"), transaction.atomic():
            project = self._project(project_id, lock=True)
            wanted = {name: getattr(quotas, name) for name in QUOTA_FIELDS if getattr(quotas, name) is not None}
            usage = self._usage(project) if wanted else {}
            for name, value in wanted.items():
                if value < -1:
                    raise InvalidRequest(
                        _("Quota limit %(value)s for %(name)s is not valid.") % {"value": value, "name": name}
                    )
                used = usage.get(name) if name in NOVA_CHECKED else None
                if used is not None and value != -1 and value < used:
                    raise InvalidRequest(
                        _("Quota limit %(value)s for %(name)s must be greater than or equal to already used %(used)s.")
                        % {"value": value, "name": name, "used": used}
                    )
            for name, value in wanted.items():
                SandboxQuota.objects.update_or_create(project=project, resource=name, defaults={"limit": value})

    def get_quotas(self, project_id: str) -> Quotas:
        with self.injector.call("get_quotas") as call:
            limits = self._limits(self._project(project_id), call.settings)
            return Quotas(**{name: (None if value < 0 else value) for name, value in limits.items()})

    # --- catalog ----------------------------------------------------------------------------------------------------

    def list_flavors(self) -> list[Flavor]:
        with self.injector.call("list_flavors"):
            self._seed_catalog()
            return [
                Flavor(
                    id=str(f.id), name=f.name, vcpus=f.vcpus, ram_mb=f.ram_mb, disk_gb=f.disk_gb, is_public=f.is_public
                )
                for f in SandboxFlavor.objects.filter(region_id=self.region_id)
            ]

    def list_images(self) -> list[Image]:
        with self.injector.call("list_images"):
            self._seed_catalog()
            return [
                Image(
                    id=str(i.id),
                    name=i.name,
                    status=i.status,
                    size_bytes=i.size_bytes,
                    min_disk_gb=i.min_disk_gb,
                    min_ram_mb=i.min_ram_mb,
                    os_distro=i.os_distro,
                    os_version=i.os_version,
                    visibility=i.visibility,
                )
                for i in SandboxImage.objects.filter(region_id=self.region_id)
            ]

    # --- key pairs --------------------------------------------------------------------------------------------------

    def create_keypair(self, project_id: str, name: str, public_key: str) -> Keypair:
        with self.injector.call("create_keypair") as call:
            if not KEYPAIR_NAME.match(name or "") or name != name.strip():
                raise InvalidRequest(
                    _("Key pair name %(name)r is not valid: 1 to 255 letters, digits, spaces, '_', '-', '.' or '@'.")
                    % {"name": name}
                )
            _type, fingerprint, cleaned = self._parse_public_key(public_key)
            with transaction.atomic():
                project = self._project(project_id, lock=True)
                limit = self._limits(project, call.settings)["key_pairs"]
                used = SandboxKeypair.objects.filter(project=project).count()
                if 0 <= limit <= used:
                    raise QuotaExceeded(
                        _("Quota exceeded for key_pairs: %(used)s of %(limit)s used.") % {"used": used, "limit": limit}
                    )
                try:
                    with transaction.atomic():
                        keypair = SandboxKeypair.objects.create(
                            region_id=self.region_id,
                            project=project,
                            name=name,
                            public_key=cleaned,
                            fingerprint=fingerprint,
                            type="ssh",
                        )
                except IntegrityError:
                    raise Conflict(_("Key pair '%(name)s' already exists.") % {"name": name}) from None
            return self._keypair_result(keypair)

    def list_keypairs(self, project_id: str) -> list[Keypair]:
        with self.injector.call("list_keypairs"):
            self._project(project_id)
            # As in nova, key pairs belong to the user (the console's service user), not to one project.
            return [self._keypair_result(k) for k in SandboxKeypair.objects.filter(region_id=self.region_id)]

    def delete_keypair(self, project_id: str, name: str) -> None:
        with self.injector.call("delete_keypair"):
            self._project(project_id)
            SandboxKeypair.objects.filter(region_id=self.region_id, name=name).delete()

    # --- servers ----------------------------------------------------------------------------------------------------

    def create_server(self, project_id: str, spec: ServerSpec) -> CloudServer:
        with self.injector.call("create_server") as call:
            return self._create_server(project_id, spec, call.settings, build_error=call.build_error)

    def find_server(self, project_id: str, *, request_id: str) -> CloudServer | None:
        with self.injector.call("find_server"):
            project = self._project(project_id)
            now = timezone.now()
            tag = request_tag(request_id)
            for row in self._servers(project).filter(request_id=request_id):
                if tag in row.tags and not self._settle(row, now).deleted_at:
                    return self._server_result(row, now)
            return None

    def get_server(self, project_id: str, server_id: str) -> CloudServer:
        with self.injector.call("get_server"):
            project = self._project(project_id)
            now = timezone.now()
            row = self._servers(project).filter(pk=_uuid(server_id)).first() if _uuid(server_id) else None
            if row is None or self._settle(row, now).deleted_at:
                raise self._server_not_found(server_id)
            return self._server_result(row, now)

    def list_servers(self, project_id: str) -> list[CloudServer]:
        with self.injector.call("list_servers"):
            project = self._project(project_id)
            now = timezone.now()
            rows = [self._settle(row, now) for row in self._servers(project)]
            return [self._server_result(row, now) for row in rows if not row.deleted_at]

    def server_action(self, project_id: str, server_id: str, action: ServerAction) -> None:
        with self.injector.call("server_action") as call, transaction.atomic():
            row = self._locked_server(project_id, server_id)
            self._act(row, action, call.settings)

    def delete_server(self, project_id: str, server_id: str) -> None:
        with self.injector.call("delete_server") as call, transaction.atomic():
            try:
                row = self._locked_server(project_id, server_id)
            except NotFound:
                return
            if row.task == "delete":
                return
            if row.locked:
                raise self._locked_error(row)
            self._begin(row, "delete", call.settings, {"deleted": True}, now=timezone.now())

    def console_log(self, project_id: str, server_id: str, *, lines: int = 200) -> str:
        with self.injector.call("console_log") as call:
            project = self._project(project_id)
            now = timezone.now()
            row = self._servers(project).filter(pk=_uuid(server_id)).first() if _uuid(server_id) else None
            if row is None or self._settle(row, now).deleted_at:
                raise self._server_not_found(server_id)
            if row.launched_at is None:
                return ""  # still building: nothing on the console yet
            flavor, image = row.flavor, row.image
            addresses = tuple(
                (port.ip, port.mac, ipaddress.ip_network(port.subnet.cidr).prefixlen) for port in row.ports.all()
            )
            facts = consolelog.BootFacts(
                server_id=str(row.id),
                name=row.name,
                image_name=image.name,
                os_distro=image.os_distro,
                kernel=self._kernel(image),
                login_user=image.login_user or "cloud-user",
                vcpus=flavor.vcpus,
                ram_mb=flavor.ram_mb,
                disk_gb=flavor.disk_gb,
                addresses=addresses,
                key_fingerprint=row.keypair_fingerprint,
                booted_at=row.launched_at,
                speed=call.settings.speed,
            )
            return consolelog.render(facts, now, lines=lines)

    # --- servers: the work ------------------------------------------------------------------------------------------

    def _create_server(
        self, project_id: str, spec: ServerSpec, settings: Settings, *, build_error: str | None
    ) -> CloudServer:
        self._check_name(spec.name)
        self._seed_catalog()
        flavor = self._flavor(spec.flavor_id)
        image = self._image(spec.image_id)
        self._check_fits(flavor, image)
        keypair = None
        if spec.keypair_name:
            keypair = SandboxKeypair.objects.filter(region_id=self.region_id, name=spec.keypair_name).first()
            if keypair is None:
                raise InvalidRequest(_("Invalid key_name provided: %(name)s.") % {"name": spec.keypair_name})
        for group in spec.security_groups:
            if group != "default":
                raise InvalidRequest(
                    _("Security group %(name)s not found for project %(project)s.")
                    % {"name": group, "project": project_id}
                )
        now = timezone.now()
        with transaction.atomic():
            project = self._project(project_id, lock=True)
            if settings.dedupe_requests and spec.request_id:
                existing = self._servers(project).filter(request_id=spec.request_id).first()
                if existing is not None and not self._settle(existing, now).deleted_at:
                    return self._server_result(existing, now)
            self._reap(project, now)
            subnets = self._subnets_for(project, spec.network_ids)
            self._check_create_quota(project, flavor, len(subnets), settings)
            result: dict[str, Any] = {"status": Status.ACTIVE, "boot": True}
            if build_error:
                result = {"status": Status.ERROR, "fault": build_error}
            row = SandboxServer.objects.create(
                region_id=self.region_id,
                project=project,
                name=spec.name,
                status=Status.BUILDING,
                task="build",
                task_started_at=now,
                task_seconds=settings.seconds("build"),
                task_result=result,
                flavor=flavor,
                image=image,
                keypair_name=spec.keypair_name or "",
                keypair_fingerprint=keypair.fingerprint if keypair else "",
                user_data=spec.user_data or "",
                security_groups=list(spec.security_groups) or ["default"],
                metadata=dict(spec.metadata),
                tags=[request_tag(spec.request_id)] if spec.request_id else [],
                request_id=spec.request_id or "",
                created_at=now,
            )
            for subnet in subnets:
                self._allocate(subnet, device_owner="compute:nova", server=row)
        return self._server_result(self._servers(project).get(pk=row.pk), now)

    def _act(self, row: SandboxServer, action: ServerAction, settings: Settings) -> None:
        now = timezone.now()
        kind = action.kind
        if kind == "rename":
            self._check_name(action.name or "")
            SandboxServer.objects.filter(pk=row.pk).update(name=action.name)
            return
        if kind in ("lock", "unlock"):
            SandboxServer.objects.filter(pk=row.pk).update(locked=kind == "lock")
            return
        if kind not in TASK_VERB:
            raise InvalidRequest(_("Unknown server action %(kind)s.") % {"kind": kind})
        if row.locked:
            raise self._locked_error(row)
        status, _cloud, task_state = self._view(row)
        if row.task:
            raise Conflict(
                _("Cannot '%(verb)s' instance %(id)s while it is in task_state %(task)s.")
                % {"verb": TASK_VERB[kind], "id": row.id, "task": task_state or TASKS[row.task][1].lower()}
            )

        def refuse() -> Conflict:
            return Conflict(
                _("Cannot '%(verb)s' instance %(id)s while it is in vm_state %(state)s.")
                % {"verb": TASK_VERB[kind], "id": row.id, "state": VM_STATE.get(status, status.lower())}
            )

        if kind == "start":
            if status != Status.STOPPED:
                raise refuse()
            self._begin(row, "start", settings, {"status": Status.ACTIVE, "boot": True}, now=now)
        elif kind == "stop":
            if status not in (Status.ACTIVE, Status.ERROR):
                raise refuse()
            self._begin(row, "stop", settings, {"status": Status.STOPPED}, now=now)
        elif kind == "reboot":
            allowed = (Status.ACTIVE, Status.STOPPED, Status.ERROR) if action.hard else (Status.ACTIVE,)
            if status not in allowed:
                raise refuse()
            task = "hard_reboot" if action.hard else "reboot"
            self._begin(row, task, settings, {"status": Status.ACTIVE, "boot": True, "fault": ""}, now=now)
        elif kind == "resize":
            if status not in (Status.ACTIVE, Status.STOPPED):
                raise refuse()
            flavor = self._resize_flavor(row, action.flavor_id)
            self._check_resize_quota(row, flavor, settings)
            result = {"status": Status.VERIFY_RESIZE, "flavor": str(flavor.id), "resize_from": status}
            self._begin(row, "resize", settings, result, now=now)
        elif kind == "confirm_resize":
            if status != Status.VERIFY_RESIZE:
                raise refuse()
            self._begin(
                row, "confirm", settings, {"status": row.resize_from or Status.ACTIVE, "confirm": True}, now=now
            )
        elif kind == "revert_resize":
            if status != Status.VERIFY_RESIZE:
                raise refuse()
            result = {"status": row.resize_from or Status.ACTIVE, "flavor": str(row.old_flavor_id), "revert": True}
            if result["status"] == Status.ACTIVE:
                result["boot"] = True
            self._begin(row, "revert", settings, result, now=now)
        elif kind == "rebuild":
            if status not in (Status.ACTIVE, Status.STOPPED, Status.ERROR):
                raise refuse()
            image = self._image(action.image_id) if action.image_id else row.image
            self._check_fits(row.flavor, image)
            after = Status.STOPPED if status == Status.STOPPED else Status.ACTIVE
            result = {"status": after, "image": str(image.id), "fault": ""}
            if after == Status.ACTIVE:
                result["boot"] = True
            if action.name:
                self._check_name(action.name)
                row.name = action.name
            self._begin(row, "rebuild", settings, result, now=now)

    def _begin(
        self, row: SandboxServer, task: str, settings: Settings, result: dict[str, Any], *, now: dt.datetime
    ) -> None:
        """Start a transition on a locked, settled row (the previous status stays as its starting point)."""
        row.task = task
        row.task_started_at = now
        row.task_seconds = settings.seconds(task)
        row.task_result = result
        row.save()

    def _settle(self, row: SandboxServer, now: dt.datetime) -> SandboxServer:
        """Apply a finished transition to `row` in memory (a writer saves it; a reader only looks). Returns the row."""
        if not row.task or row.task_started_at is None:
            return row
        ends = row.task_started_at + dt.timedelta(seconds=row.task_seconds)
        if now < ends:
            return row
        result = row.task_result or {}
        if result.get("deleted"):
            row.deleted_at = ends
        if "flavor" in result:
            new_flavor = _uuid(result["flavor"])
            if result.get("revert"):
                row.old_flavor_id = None
                row.resize_from = ""
            else:
                row.old_flavor_id = row.flavor_id
                row.resize_from = result.get("resize_from", "")
            if new_flavor is not None:
                row.flavor_id = new_flavor
                # Keep the prefetched object in step (the view reads row.flavor).
                if row.flavor.pk != new_flavor:
                    row.flavor = SandboxFlavor.objects.get(pk=new_flavor)
        if result.get("confirm"):
            row.old_flavor_id = None
            row.resize_from = ""
        if "image" in result:
            row.image_id = _uuid(result["image"])
            if row.image.pk != row.image_id:
                row.image = SandboxImage.objects.get(pk=row.image_id)
        if "fault" in result:
            row.fault = result["fault"] or ""
        if result.get("boot"):
            row.launched_at = ends
        if "status" in result:
            row.status = result["status"]
        row.task, row.task_started_at, row.task_seconds, row.task_result = "", None, 0, {}
        return row

    def _view(self, row: SandboxServer) -> tuple[Status, str, str | None]:
        """(status, nova's status, task_state) of a settled-as-of-now row."""
        status = Status(row.status)
        if row.task:
            shown, cloud_status, task_state = TASKS[row.task]
            if row.task == "delete":
                cloud_status = CLOUD_STATUS.get(status, "ACTIVE")
            return shown, cloud_status, task_state
        return status, CLOUD_STATUS.get(status, str(status)), None

    def _server_result(self, row: SandboxServer, now: dt.datetime) -> CloudServer:
        self._settle(row, now)
        status, cloud_status, task_state = self._view(row)
        addresses = tuple(
            Address(
                ip=port.ip,
                version=ipaddress.ip_address(port.ip).version,
                kind="fixed",
                network=port.subnet.network.name,
                mac=port.mac,
            )
            for port in row.ports.all()
        )
        return CloudServer(
            id=str(row.id),
            name=row.name,
            status=status,
            cloud_status=cloud_status,
            flavor_id=str(row.flavor_id),
            image_id=str(row.image_id),
            request_id=request_id_from_tags(row.tags),
            addresses=addresses,
            locked=row.locked,
            task_state=task_state,
            fault=(row.fault or None) if status == Status.ERROR else None,
            created_at=row.created_at,
            keypair_name=row.keypair_name or None,
        )

    def _servers(self, project: SandboxProject) -> Any:
        ports = SandboxPort.objects.select_related("subnet__network").order_by("created_at")
        return (
            SandboxServer.objects.filter(project=project, deleted_at__isnull=True)
            .select_related("flavor", "image")
            .prefetch_related(Prefetch("ports", queryset=ports))
        )

    def _locked_server(self, project_id: str, server_id: str) -> SandboxServer:
        """The server row, locked for this transaction and settled (saved if a transition finished)."""
        project = self._project(project_id)
        pk = _uuid(server_id)
        row = (
            SandboxServer.objects.select_for_update(of=("self",))
            .select_related("flavor", "image")
            .filter(project=project, pk=pk, deleted_at__isnull=True)
            .first()
            if pk
            else None
        )
        if row is None:
            raise self._server_not_found(server_id)
        before = (row.task, row.status)
        self._settle(row, timezone.now())
        if (row.task, row.status) != before or row.deleted_at:
            row.save()
        if row.deleted_at:
            SandboxPort.objects.filter(server=row).delete()
            raise self._server_not_found(server_id)
        return row

    def _reap(self, project: SandboxProject, now: dt.datetime) -> None:
        """Mark finished deletions as deleted and free their addresses (under the project's lock)."""
        for row in SandboxServer.objects.filter(project=project, deleted_at__isnull=True, task="delete"):
            if self._settle(row, now).deleted_at:
                SandboxServer.objects.filter(pk=row.pk).update(
                    deleted_at=row.deleted_at, task="", task_started_at=None, task_seconds=0, task_result={}
                )
                SandboxPort.objects.filter(server=row).delete()

    # --- checks -----------------------------------------------------------------------------------------------------

    def _check_name(self, name: str) -> None:
        if not name or len(name) > NAME_MAX or name != name.strip():
            raise InvalidRequest(
                _("Invalid server name %(name)r: 1 to %(max)s characters, without leading or trailing spaces.")
                % {"name": name, "max": NAME_MAX}
            )

    def _check_fits(self, flavor: SandboxFlavor, image: SandboxImage) -> None:
        if image.min_disk_gb > flavor.disk_gb:
            raise InvalidRequest(
                _(
                    "Flavor's disk is too small for requested image: %(flavor)s has %(disk)s GiB, %(image)s needs "
                    "%(min)s."
                )
                % {"flavor": flavor.name, "disk": flavor.disk_gb, "image": image.name, "min": image.min_disk_gb}
            )
        if image.min_ram_mb > flavor.ram_mb:
            raise InvalidRequest(
                _(
                    "Flavor's memory is too small for requested image: %(flavor)s has %(ram)s MiB, %(image)s needs "
                    "%(min)s."
                )
                % {"flavor": flavor.name, "ram": flavor.ram_mb, "image": image.name, "min": image.min_ram_mb}
            )

    def _resize_flavor(self, row: SandboxServer, flavor_id: str | None) -> SandboxFlavor:
        if not flavor_id:
            raise InvalidRequest(_("A resize needs the new flavor."))
        flavor = self._flavor(flavor_id)
        if flavor.pk == row.flavor_id:
            raise InvalidRequest(_("When resizing, instances must change flavor!"))
        if flavor.disk_gb < row.flavor.disk_gb:
            raise InvalidRequest(
                _("Resizing to a smaller disk is not possible: %(new)s has %(disk)s GiB, the server has %(current)s.")
                % {"new": flavor.name, "disk": flavor.disk_gb, "current": row.flavor.disk_gb}
            )
        self._check_fits(flavor, row.image)
        return flavor

    def _check_create_quota(
        self, project: SandboxProject, flavor: SandboxFlavor, ports: int, settings: Settings
    ) -> None:
        limits, usage = self._limits(project, settings), self._usage(project)
        self._quota("instances", 1, usage, limits)
        self._quota("cores", flavor.vcpus, usage, limits)
        self._quota("ram_mb", flavor.ram_mb, usage, limits)
        if ports:
            self._quota("ports", ports, usage, limits)

    def _check_resize_quota(self, row: SandboxServer, flavor: SandboxFlavor, settings: Settings) -> None:
        limits, usage = self._limits(row.project, settings), self._usage(row.project)
        self._quota("cores", flavor.vcpus - row.flavor.vcpus, usage, limits)
        self._quota("ram_mb", flavor.ram_mb - row.flavor.ram_mb, usage, limits)

    @staticmethod
    def _quota(name: str, wanted: int, usage: dict[str, int], limits: dict[str, int]) -> None:
        limit, used = limits[name], usage[name]
        if wanted <= 0 or limit < 0 or used + wanted <= limit:
            return
        if name == "instances":
            message = _("Quota exceeded for %(name)s: %(used)s of %(limit)s used.")
        else:
            message = _("Quota exceeded for %(name)s: requested %(wanted)s, %(used)s of %(limit)s used.")
        raise QuotaExceeded(message % {"name": name, "wanted": wanted, "used": used, "limit": limit})

    def _limits(self, project: SandboxProject, settings: Settings) -> dict[str, int]:
        limits = {**DEFAULT_QUOTAS, **{k: v for k, v in settings.default_quotas.items() if k in DEFAULT_QUOTAS}}
        limits.update(dict(SandboxQuota.objects.filter(project=project).values_list("resource", "limit")))
        return limits

    def _usage(self, project: SandboxProject) -> dict[str, int]:
        """What counts against the quotas now: every server not yet gone (ERROR and DELETING ones too, as in nova)."""
        now = timezone.now()
        servers = [
            row
            for row in SandboxServer.objects.filter(project=project, deleted_at__isnull=True).select_related("flavor")
            if not self._settle(row, now).deleted_at
        ]
        live = {row.pk for row in servers}
        ports = SandboxPort.objects.filter(subnet__network__project=project)
        return {
            "instances": len(servers),
            "cores": sum(row.flavor.vcpus for row in servers),
            "ram_mb": sum(row.flavor.ram_mb for row in servers),
            "key_pairs": SandboxKeypair.objects.filter(project=project).count(),
            "ports": sum(1 for port in ports.only("server_id") if port.server_id is None or port.server_id in live),
        }

    # --- lookups ----------------------------------------------------------------------------------------------------

    def _project(self, project_id: str, *, lock: bool = False) -> SandboxProject:
        rows = SandboxProject.objects.filter(region_id=self.region_id, pk=str(project_id or ""))
        project = (rows.select_for_update() if lock else rows).first()
        if project is None:
            raise NotFound(_("Could not find project: %(id)s.") % {"id": project_id})
        return project

    def _flavor(self, flavor_id: str | None) -> SandboxFlavor:
        pk = _uuid(flavor_id)
        flavor = SandboxFlavor.objects.filter(region_id=self.region_id, pk=pk).first() if pk else None
        if flavor is None:
            raise InvalidRequest(_("Flavor %(id)s could not be found.") % {"id": flavor_id})
        return flavor

    def _image(self, image_id: str | None) -> SandboxImage:
        pk = _uuid(image_id)
        image = SandboxImage.objects.filter(region_id=self.region_id, pk=pk).first() if pk else None
        if image is None:
            raise InvalidRequest(_("Image %(id)s could not be found.") % {"id": image_id or "''"})
        if image.status != "active":
            raise InvalidRequest(_("Image %(id)s is not active.") % {"id": image_id})
        return image

    def _subnets_for(self, project: SandboxProject, network_ids: Iterable[str]) -> list[SandboxSubnet]:
        """One subnet per requested network (the project's own); none asked: the project's default network, if any."""
        wanted = list(network_ids)
        subnets: list[SandboxSubnet] = []
        if not wanted:
            network = SandboxNetwork.objects.filter(project=project, name=DEFAULT_NETWORK).first()
            wanted = [str(network.id)] if network else []
        for network_id in wanted:
            pk = _uuid(network_id)
            network = SandboxNetwork.objects.filter(project=project, pk=pk).first() if pk else None
            if network is None:
                raise InvalidRequest(_("Network %(id)s could not be found.") % {"id": network_id})
            subnet = network.subnets.order_by("created_at").first()
            if subnet is None:
                raise InvalidRequest(_("Network %(id)s has no subnet to take an address from.") % {"id": network_id})
            subnets.append(subnet)
        return subnets

    def _allocate(
        self,
        subnet: SandboxSubnet,
        *,
        device_owner: str,
        server: SandboxServer | None = None,
        router: SandboxRouter | None = None,
    ) -> SandboxPort:
        """Take the lowest free address of the subnet (the subnet row locked: two creates never get the same one)."""
        SandboxSubnet.objects.select_for_update().filter(pk=subnet.pk).first()
        taken = set(SandboxPort.objects.filter(subnet=subnet).values_list("ip", flat=True))
        for host in ipaddress.ip_network(subnet.cidr).hosts():
            ip = str(host)
            if ip != subnet.gateway_ip and ip not in taken:
                return SandboxPort.objects.create(
                    subnet=subnet, server=server, router=router, device_owner=device_owner, ip=ip, mac=_mac()
                )
        raise Conflict(_("No more IP addresses available on network %(network)s.") % {"network": subnet.network_id})

    def _public_subnet(self, settings: Settings) -> SandboxSubnet:
        network, _new = SandboxNetwork.objects.get_or_create(
            region_id=self.region_id, external=True, defaults={"name": settings.public_network, "project": None}
        )
        subnet = network.subnets.first()
        if subnet is None:
            try:
                cidr = ipaddress.ip_network(settings.public_cidr)
            except ValueError:
                raise InvalidRequest(
                    _("The region's public_cidr %(cidr)s is not a network range.") % {"cidr": settings.public_cidr}
                ) from None
            with transaction.atomic():
                SandboxNetwork.objects.select_for_update().filter(pk=network.pk).first()
                subnet = network.subnets.first() or SandboxSubnet.objects.create(
                    network=network,
                    name=f"{settings.public_network}-subnet",
                    cidr=str(cidr),
                    gateway_ip=str(next(cidr.hosts())),
                )
        return subnet

    def _seed_catalog(self) -> None:
        """Give a new region its flavors and images (once; concurrent first calls agree on the names)."""
        if self._catalog_seeded:
            return
        if not SandboxFlavor.objects.filter(region_id=self.region_id).exists():
            SandboxFlavor.objects.bulk_create(
                [
                    SandboxFlavor(
                        region_id=self.region_id, name=f.name, vcpus=f.vcpus, ram_mb=f.ram_mb, disk_gb=f.disk_gb
                    )
                    for f in FLAVORS
                ],
                ignore_conflicts=True,
            )
        if not SandboxImage.objects.filter(region_id=self.region_id).exists():
            SandboxImage.objects.bulk_create(
                [
                    SandboxImage(
                        region_id=self.region_id,
                        name=i.name,
                        size_bytes=i.size_bytes,
                        min_disk_gb=i.min_disk_gb,
                        min_ram_mb=i.min_ram_mb,
                        os_distro=i.os_distro,
                        os_version=i.os_version,
                        login_user=i.login_user,
                    )
                    for i in IMAGES
                ],
                ignore_conflicts=True,
            )
        self._catalog_seeded = True

    @staticmethod
    def _kernel(image: SandboxImage) -> str:
        return next((i.kernel for i in IMAGES if i.name == image.name), "6.1.0-cloud-amd64")

    def _parse_public_key(self, public_key: str) -> tuple[str, str, str]:
        parts = (public_key or "").strip().split()
        invalid = InvalidRequest(_("Keypair data is invalid: the public key is not an OpenSSH public key."))
        if len(parts) < 2 or parts[0] not in KEY_TYPES:
            raise invalid
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError):
            raise invalid from None
        # The blob starts with its own type name (a length-prefixed string): a key of another type is refused.
        if len(blob) < 4 or blob[4 : 4 + int.from_bytes(blob[:4], "big")] != parts[0].encode():
            raise invalid
        return parts[0], _md5_fingerprint(blob), " ".join(parts)

    # --- results and errors -----------------------------------------------------------------------------------------

    @staticmethod
    def _project_result(project: SandboxProject) -> CloudProject:
        return CloudProject(id=project.id, name=project.name, enabled=project.enabled, description=project.description)

    @staticmethod
    def _keypair_result(keypair: SandboxKeypair) -> Keypair:
        return Keypair(
            name=keypair.name, fingerprint=keypair.fingerprint, public_key=keypair.public_key, type=keypair.type
        )

    @staticmethod
    def _server_not_found(server_id: str) -> NotFound:
        return NotFound(_("Instance %(id)s could not be found.") % {"id": server_id})

    @staticmethod
    def _locked_error(row: SandboxServer) -> Conflict:
        return Conflict(_("Instance %(id)s is locked.") % {"id": row.id})
