"""The only code that changes servers. Console views and the API call these; each checks the rules, changes the row
in one transaction with an audit row, and after commit sends the work to a task and the change to the live channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.core import live
from infra import quotas
from infra.models import CloudProject, Flavor, Image, Keypair, Region, Resource, Server
from infra.providers.base import SETTLED, Status
from tenants.audit import Actor, record, snapshot
from tenants.audit_labels import register_actions, register_fields
from tenants.models import Project, Role
from tenants.policy import ActionError, Conflict, NotFound, Operation, authorize

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
USER_DATA_MAX_BYTES = 65535  # nova's limit on user data (before base64)
SERVER_FIELDS = ("name", "status", "flavor_id", "image_id", "locked")


def register_audit_labels() -> None:
    """The activity pages' labels of instance actions (called from InfraConfig.ready)."""
    register_actions(
        "server",
        gettext_lazy("Instances"),
        {
            "server.create": gettext_lazy("Instance created"),
            "server.start": gettext_lazy("Instance started"),
            "server.stop": gettext_lazy("Instance stopped"),
            "server.reboot": gettext_lazy("Instance rebooted"),
            "server.resize": gettext_lazy("Instance type change asked"),
            "server.resize.confirm": gettext_lazy("Instance type change confirmed"),
            "server.resize.revert": gettext_lazy("Instance type change reverted"),
            "server.rebuild": gettext_lazy("Instance rebuilt"),
            "server.rename": gettext_lazy("Instance renamed"),
            "server.lock": gettext_lazy("Instance locked"),
            "server.unlock": gettext_lazy("Instance unlocked"),
            "server.delete": gettext_lazy("Instance deleted"),
            "server.error": gettext_lazy("Instance failed"),
            "server.sync": gettext_lazy("Instance changed in the cloud"),
            "server.adopt": gettext_lazy("Instance made outside the console adopted"),
            "server.vanished": gettext_lazy("Instance gone from the cloud"),
            # What the cloud finished (recorded by infra.provisioning as `server.<op>.done`).
            "server.create.done": gettext_lazy("Instance built"),
            "server.start.done": gettext_lazy("Instance start finished"),
            "server.stop.done": gettext_lazy("Instance stop finished"),
            "server.reboot.done": gettext_lazy("Instance reboot finished"),
            "server.resize.done": gettext_lazy("Instance type changed, waiting for confirmation"),
            "server.confirm_resize.done": gettext_lazy("Instance type change finished"),
            "server.revert_resize.done": gettext_lazy("Instance type change reverted"),
            "server.rebuild.done": gettext_lazy("Instance rebuild finished"),
        },
    )
    register_fields(
        {
            "status": gettext_lazy("status"),
            "flavor": gettext_lazy("instance type"),
            "flavor_id": gettext_lazy("instance type"),
            "image": gettext_lazy("image"),
            "image_id": gettext_lazy("image"),
            "region": gettext_lazy("region"),
            "locked": gettext_lazy("locked"),
            "hard": gettext_lazy("hard reboot"),
            "from": gettext_lazy("from"),
            "to": gettext_lazy("to"),
            "op": gettext_lazy("operation"),
            "error": gettext_lazy("error"),
            "cloud_status": gettext_lazy("status in the cloud"),
            "provider_id": gettext_lazy("cloud id"),
        },
        {"status": dict(Status.choices), "op": dict(OP_VALUE_LABELS)},
    )


# The operations `server.error` names (its "op"), as the activity page shows them.
OP_VALUE_LABELS = {
    "create": gettext_lazy("create"),
    "start": gettext_lazy("start"),
    "stop": gettext_lazy("stop"),
    "reboot": gettext_lazy("reboot"),
    "resize": gettext_lazy("change type"),
    "confirm_resize": gettext_lazy("confirm the type change"),
    "revert_resize": gettext_lazy("revert the type change"),
    "rebuild": gettext_lazy("rebuild"),
    "delete": gettext_lazy("delete"),
}


def validate_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.match(name):
        raise ActionError(
            _(
                "A name has 1 to 63 letters, digits, dots, hyphens or underscores, and starts with a letter or digit"
                " (it becomes the host name)."
            )
        )
    return name


def _enqueue(server: Server) -> None:
    from infra import tasks

    pk = str(server.pk)
    transaction.on_commit(lambda: tasks.drive_server.delay(pk), robust=True)


def _locked(server: Server) -> Server:
    """The row, locked for this transaction, in its own project (another tenant's id is simply not found)."""
    row = (
        Server.objects.select_for_update(of=("self",))
        .select_related("project__organization", "region", "flavor", "image", "cloud_project")
        .filter(pk=server.pk, project_id=server.project_id)
        .exclude(status=Status.DELETED)
        .first()
    )
    if row is None:
        raise NotFound()
    return row


def _ensure_not_locked(server: Server) -> None:
    if server.locked:
        raise Conflict(_("%(name)s is locked: unlock it first.") % {"name": server.name})


def _ensure_status(server: Server, allowed: Iterable[Status], verb: str) -> None:
    if server.status not in set(allowed):
        raise Conflict(
            _("Cannot %(verb)s %(name)s while it is %(status)s.")
            % {"verb": verb, "name": server.name, "status": server.get_status_display().lower()}
        )


def _begin(
    actor: Actor,
    server: Server,
    *,
    to: Status,
    op: str,
    action: str,
    after: dict[str, Any] | None = None,
    **pending: Any,
) -> Server:
    """Put the server in the op's transitional status with its pending op, audit it, and drive it after commit."""
    before = snapshot(server, SERVER_FIELDS)
    server.transition(
        to,
        allowed={server.status},
        pending={"op": op, **pending},
        requested_at=None,
        error_message="",
    )
    record(actor, action, project=server.project, target=server, before=before, after=after or {"status": to})
    _enqueue(server)
    return server


def _ensure_offered(flavor: Flavor | None = None, image: Image | None = None, *, region: Region) -> None:
    """The flavor and image are the region's, not deleted in the cloud, and shown to tenants."""
    if flavor is not None and (flavor.region_id != region.pk or not flavor.is_offered):
        raise ActionError(
            _("The instance type %(name)s is not offered in %(region)s.") % {"name": flavor.name, "region": region.name}
        )
    if image is not None and (image.region_id != region.pk or not image.is_offered):
        raise ActionError(
            _("The image %(name)s is not available in %(region)s.") % {"name": image.name, "region": region.name}
        )


def _ensure_own_keypair(actor: Actor, project: Project, keypair: Keypair) -> None:
    """A launch uses one of the launching user's own key pairs in this project (key pairs are per user)."""
    if keypair.project_id != project.pk or keypair.user_id != actor.user.pk or keypair.deleted_at is not None:
        raise ActionError(_("Choose one of your own key pairs in this project."))


# --- create --------------------------------------------------------------------------------------------------------

MAX_COUNT = 20  # servers one launch may ask for
COUNT_PLACEHOLDER = "{n}"
# What cloud-init accepts as the first line of user data (https://cloudinit.readthedocs.io/en/latest/explanation/format.html).
USER_DATA_STARTS = (
    "#cloud-config",
    "#!",
    "#include",
    "#cloud-boothook",
    "#part-handler",
    "#cloud-config-archive",
    "## template: jinja",
    "Content-Type: multipart/",
    "MIME-Version:",
)


def validate_user_data(user_data: str) -> str:
    """Cloud-init user data as cloud-init reads it: at most 64 KiB, a known first line, and a `#cloud-config` that is
    a YAML mapping. Returns it with Windows line ends made Unix ones; raises ActionError with what to fix."""
    text = user_data.replace("\r\n", "\n")
    if not text.strip():
        return ""
    if "\x00" in text:
        raise ActionError(_("User data must be text."))
    size = len(text.encode())
    if size > USER_DATA_MAX_BYTES:
        raise ActionError(_("User data is limited to 64 KiB; this is %(size)s KiB.") % {"size": f"{size / 1024:.1f}"})
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    if not first.startswith(USER_DATA_STARTS):
        raise ActionError(
            _(
                "User data must start with #cloud-config (a YAML document), #! (a script) or another format cloud-init"
                " reads; it starts with “%(line)s”."
            )
            % {"line": first[:40]}
        )
    if first.startswith("#cloud-config") and not first.startswith("#cloud-config-archive"):
        import yaml

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = (
                _(" (line %(line)s, column %(column)s)") % {"line": mark.line + 1, "column": mark.column + 1}
                if mark is not None
                else ""
            )
            problem = getattr(error, "problem", None) or str(error)
            raise ActionError(
                _("The #cloud-config is not valid YAML%(where)s: %(problem)s.") % {"where": where, "problem": problem}
            ) from None
        if document is not None and not isinstance(document, dict):
            raise ActionError(_("A #cloud-config must be a YAML mapping (keys such as packages: or runcmd:)."))
    return text


def server_names(name: str, count: int) -> list[str]:
    """The names of `count` servers launched together: `name` alone for one; for more, `{n}` in the name replaced
    by 1…count, or `-1`…`-count` appended. Each is checked as a host name."""
    if not 1 <= count <= MAX_COUNT:
        raise ActionError(_("Launch between 1 and %(max)s instances at a time.") % {"max": MAX_COUNT})
    name = name.strip()
    if count == 1:
        return [validate_name(name.replace(COUNT_PLACEHOLDER, "1"))]
    if COUNT_PLACEHOLDER in name:
        return [validate_name(name.replace(COUNT_PLACEHOLDER, str(n))) for n in range(1, count + 1)]
    return [validate_name(f"{name}-{n}") for n in range(1, count + 1)]


@transaction.atomic
def create_servers(
    *,
    actor: Actor,
    project: Project,
    region: Region,
    name: str,
    flavor: Flavor,
    image: Image,
    count: int = 1,
    keypair: Keypair | None = None,
    user_data: str = "",
    network_ids: Iterable[str] = (),
    security_groups: Iterable[str] = (),
) -> list[Server]:
    """Ask for `count` servers of one kind (names from `server_names`), all or none: the quota is checked for all of
    them at once. Tasks create each in the cloud (`infra.provisioning.drive_server`)."""
    authorize(actor, project.organization, minimum=Role.MEMBER, operation=Operation.CREATE)
    names = server_names(name, count)
    if not region.is_available:
        raise ActionError(
            _("%(region)s does not take new instances right now: %(reason)s")
            % {"region": region.name, "reason": region.health_message or region.get_health_display()}
        )
    cloud_project = CloudProject.objects.live().filter(project=project, region=region).first()
    if cloud_project is None or not cloud_project.is_usable:
        raise ActionError(
            _("%(project)s is not set up in %(region)s yet: activate the region for the project first.")
            % {"project": project.name, "region": region.name}
        )
    _ensure_offered(flavor, image, region=region)
    if image.min_disk_gb and flavor.disk_gb and image.min_disk_gb > flavor.disk_gb:
        raise ActionError(
            _("The image %(image)s needs a disk of at least %(disk)s GiB; %(flavor)s has %(has)s GiB.")
            % {"image": image.name, "disk": image.min_disk_gb, "flavor": flavor.name, "has": flavor.disk_gb}
        )
    if image.min_ram_mb and image.min_ram_mb > flavor.ram_mb:
        raise ActionError(
            _("The image %(image)s needs at least %(ram)s MiB of RAM; %(flavor)s has %(has)s MiB.")
            % {"image": image.name, "ram": image.min_ram_mb, "flavor": flavor.name, "has": flavor.ram_mb}
        )
    user_data = validate_user_data(user_data)
    if keypair is not None:
        _ensure_own_keypair(actor, project, keypair)
    quotas.ensure_within(project, region, quotas.server_needs(flavor, len(names)))
    servers = []
    for server_name in names:
        server = Server.objects.create(
            project=project,
            region=region,
            cloud_project=cloud_project,
            name=server_name,
            flavor=flavor,
            image=image,
            keypair=keypair,
            keypair_name=keypair.cloud_name if keypair is not None else "",
            user_data=user_data,
            network_ids=list(network_ids),
            security_groups=list(security_groups),
            status=Status.PENDING,
            pending={"op": "create"},
            created_by=actor.user,
        )
        record(
            actor,
            "server.create",
            project=project,
            target=server,
            after={"name": server_name, "region": region.slug, "flavor": flavor.name, "image": image.name},
        )
        live.publish(project, "server", server.pk)
        _enqueue(server)
        servers.append(server)
    return servers


def create_server(
    *,
    actor: Actor,
    project: Project,
    region: Region,
    name: str,
    flavor: Flavor,
    image: Image,
    keypair: Keypair | None = None,
    user_data: str = "",
    network_ids: Iterable[str] = (),
    security_groups: Iterable[str] = (),
) -> Server:
    """Ask for one server (`create_servers` with a count of one; its name is taken as it is)."""
    if COUNT_PLACEHOLDER in name:
        validate_name(name)  # refused as a name: braces are not host-name characters
    (server,) = create_servers(
        actor=actor,
        project=project,
        region=region,
        name=name,
        flavor=flavor,
        image=image,
        keypair=keypair,
        user_data=user_data,
        network_ids=network_ids,
        security_groups=security_groups,
    )
    return server


# --- lifecycle -----------------------------------------------------------------------------------------------------


@transaction.atomic
def start_server(*, actor: Actor, server: Server) -> Server:
    authorize(actor, server.project.organization, minimum=Role.MEMBER, operation=Operation.START)
    server = _locked(server)
    _ensure_not_locked(server)
    _ensure_status(server, {Status.STOPPED}, _("start"))
    return _begin(actor, server, to=Status.STARTING, op="start", action="server.start")


@transaction.atomic
def stop_server(*, actor: Actor, server: Server) -> Server:
    authorize(actor, server.project.organization, minimum=Role.MEMBER, operation=Operation.STOP)
    server = _locked(server)
    _ensure_not_locked(server)
    _ensure_status(server, {Status.ACTIVE}, _("stop"))
    return _begin(actor, server, to=Status.STOPPING, op="stop", action="server.stop")


@transaction.atomic
def reboot_server(*, actor: Actor, server: Server, hard: bool = False) -> Server:
    authorize(actor, server.project.organization, minimum=Role.MEMBER, operation=Operation.START)
    server = _locked(server)
    _ensure_not_locked(server)
    # A hard reboot is also how a server in ERROR is brought back (as nova allows).
    _ensure_status(server, {Status.ACTIVE, Status.ERROR} if hard else {Status.ACTIVE}, _("reboot"))
    if not server.provider_id:
        raise Conflict(_("%(name)s was never made in the cloud: delete it and launch again.") % {"name": server.name})
    return _begin(
        actor, server, to=Status.REBOOTING, op="reboot", action="server.reboot", after={"hard": hard}, hard=hard
    )


@transaction.atomic
def resize_server(*, actor: Actor, server: Server, flavor: Flavor) -> Server:
    authorize(actor, server.project.organization, minimum=Role.MEMBER, operation=Operation.RESIZE)
    server = _locked(server)
    _ensure_not_locked(server)
    _ensure_status(server, {Status.ACTIVE, Status.STOPPED}, _("change the type of"))
    _ensure_offered(flavor, region=server.region)
    if flavor.pk == server.flavor_id:
        raise ActionError(_("%(name)s already has the type %(flavor)s.") % {"name": server.name, "flavor": flavor.name})
    if flavor.disk_gb and flavor.disk_gb < server.flavor.disk_gb:
        raise ActionError(
            _("%(flavor)s has a smaller disk (%(disk)s GiB) than the instance (%(has)s GiB): disks cannot shrink.")
            % {"flavor": flavor.name, "disk": flavor.disk_gb, "has": server.flavor.disk_gb}
        )
    quotas.ensure_within(
        server.project,
        server.region,
        {
            Resource.CORES: flavor.vcpus - server.flavor.vcpus,
            Resource.RAM_MB: flavor.ram_mb - server.flavor.ram_mb,
        },
    )
    return _begin(
        actor,
        server,
        to=Status.RESIZING,
        op="resize",
        action="server.resize",
        after={"from": server.flavor.name, "to": flavor.name},
        flavor=str(flavor.pk),
        previous_flavor=str(server.flavor_id),
    )


@transaction.atomic
def confirm_resize(*, actor: Actor, server: Server) -> Server:
    authorize(actor, server.project.organization, minimum=Role.MEMBER, operation=Operation.RESIZE)
    server = _locked(server)
    _ensure_not_locked(server)
    _ensure_status(server, {Status.VERIFY_RESIZE}, _("confirm the type change of"))
    return _begin(actor, server, to=Status.RESIZING, op="confirm_resize", action="server.resize.confirm")


@transaction.atomic
def revert_resize(*, actor: Actor, server: Server) -> Server:
    authorize(actor, server.project.organization, minimum=Role.MEMBER, operation=Operation.RESIZE)
    server = _locked(server)
    _ensure_not_locked(server)
    _ensure_status(server, {Status.VERIFY_RESIZE}, _("revert the type change of"))
    return _begin(actor, server, to=Status.REVERTING, op="revert_resize", action="server.resize.revert")


@transaction.atomic
def rebuild_server(*, actor: Actor, server: Server, image: Image) -> Server:
    authorize(actor, server.project.organization, minimum=Role.MEMBER, operation=Operation.UPDATE)
    server = _locked(server)
    _ensure_not_locked(server)
    _ensure_status(server, {Status.ACTIVE, Status.STOPPED}, _("rebuild"))
    _ensure_offered(image=image, region=server.region)
    return _begin(
        actor,
        server,
        to=Status.REBUILDING,
        op="rebuild",
        action="server.rebuild",
        after={"image": image.name},
        image=str(image.pk),
    )


@transaction.atomic
def delete_server(*, actor: Actor, server: Server) -> Server:
    """Delete in any status (also one that is still being created, or in ERROR); a locked server must be unlocked."""
    authorize(actor, server.project.organization, minimum=Role.MEMBER, operation=Operation.DELETE)
    server = _locked(server)
    _ensure_not_locked(server)
    if server.status == Status.DELETING:
        raise Conflict(_("%(name)s is already being deleted.") % {"name": server.name})
    return _begin(actor, server, to=Status.DELETING, op="delete", action="server.delete")


# --- attributes (no status change: the row says what the cloud should have, a task makes it so) ----------------


def _push_attributes(server: Server) -> None:
    from infra import tasks

    pk = str(server.pk)
    transaction.on_commit(lambda: tasks.push_server_attributes.delay(pk), robust=True)


@transaction.atomic
def rename_server(*, actor: Actor, server: Server, name: str) -> Server:
    authorize(actor, server.project.organization, minimum=Role.MEMBER, operation=Operation.UPDATE)
    server = _locked(server)
    _ensure_not_locked(server)
    name = validate_name(name)
    if server.status == Status.DELETING:
        raise Conflict(_("%(name)s is being deleted.") % {"name": server.name})
    if name == server.name:
        return server
    before = snapshot(server, ("name",))
    Server.objects.filter(pk=server.pk).update(name=name, updated_at=timezone.now())
    server.refresh_from_db()
    record(actor, "server.rename", project=server.project, target=server, before=before, after={"name": name})
    live.publish(server.project, "server", server.pk)
    _push_attributes(server)
    return server


def _set_lock(actor: Actor, server: Server, locked: bool) -> Server:
    authorize(actor, server.project.organization, minimum=Role.MEMBER, operation=Operation.UPDATE)
    server = _locked(server)
    if server.status not in SETTLED or not server.provider_id:
        raise Conflict(
            _("Cannot %(verb)s %(name)s while it is %(status)s.")
            % {
                "verb": _("lock") if locked else _("unlock"),
                "name": server.name,
                "status": server.get_status_display().lower(),
            }
        )
    if server.locked == locked:
        return server
    Server.objects.filter(pk=server.pk).update(locked=locked, updated_at=timezone.now())
    server.refresh_from_db()
    record(
        actor,
        "server.lock" if locked else "server.unlock",
        project=server.project,
        target=server,
        before={"locked": not locked},
        after={"locked": locked},
    )
    live.publish(server.project, "server", server.pk)
    _push_attributes(server)
    return server


@transaction.atomic
def lock_server(*, actor: Actor, server: Server) -> Server:
    """A locked server refuses every action but unlock (in the console, and in the cloud)."""
    return _set_lock(actor, server, True)


@transaction.atomic
def unlock_server(*, actor: Actor, server: Server) -> Server:
    return _set_lock(actor, server, False)


# --- one-click operations by name ---------------------------------------------------------------------------------


def _hard_reboot(*, actor: Actor, server: Server) -> Server:
    return reboot_server(actor=actor, server=server, hard=True)


# The operations that take nothing but the server, by the names the pages and the API use (infra.servers_ui.OPS).
ONE_CLICK: dict[str, Any] = {
    "start": start_server,
    "stop": stop_server,
    "reboot": reboot_server,
    "reboot_hard": _hard_reboot,
    "confirm_resize": confirm_resize,
    "revert_resize": revert_resize,
    "lock": lock_server,
    "unlock": unlock_server,
    "delete": delete_server,
}


def run_one_click(*, actor: Actor, server: Server, op: str) -> Server:
    """Run a one-click operation by its name (the server page's buttons, the list's bulk form, the API's actions).
    An unknown name is a programming error (callers offer only the names of ONE_CLICK)."""
    return ONE_CLICK[op](actor=actor, server=server)
