"""Drives one resource to its target state through its region's driver: create, act, poll, delete.

Tasks call these functions by primary key; each call does one step and says when to come back (`Step.retry_in`),
so a slow cloud is polled by re-scheduling the task, never by sleeping. The rules that make it safe to run twice:

- A row's `pending` says what the console asked for (`{"op": "create"}`, `{"op": "resize", "flavor": …}`, …);
  no `op` means there is nothing to do. `requested_at` is empty until the cloud accepted the request.
- Before any cloud request, the caller claims the row with a compare-and-set on `claim_token` (and, for a create,
  `PENDING → CREATING`). A second copy of the task finds the claim taken and comes back later; a claim older than
  `INFRA_CLAIM_LEASE` seconds (its worker died) may be taken over.
- A create carries the row's `request_id` as a tag, and looks it up first: a retried or redelivered create adopts
  the server the cloud already made instead of making a second one.
- Transient cloud errors are retried with capped exponential backoff, counted on the row; after
  `INFRA_MAX_ATTEMPTS` the row fails with the last error. Permanent errors fail at once, with the cloud's message: a
  create goes to ERROR; a refused action leaves the server as the cloud has it, with the reason in `error_message`.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.core import live
from infra import quotas
from infra.models import CloudProject, Flavor, Image, Keypair, ProjectQuota, Region, Server
from infra.providers import driver_for
from infra.providers.base import (
    Address,
    CloudError,
    CloudServer,
    NotFound,
    ProjectSpec,
    Quotas,
    ServerAction,
    ServerSpec,
    Status,
)
from infra.providers.base import Conflict as CloudConflict
from tenants.audit import record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """What the task does next: nothing (`retry_in` None), or run again in `retry_in` seconds."""

    retry_in: float | None = None


DONE = Step()

# op -> the cloud statuses that mean it finished (with no task_state left)
DONE_WHEN: dict[str, frozenset[Status]] = {
    "create": frozenset({Status.ACTIVE, Status.STOPPED}),
    "start": frozenset({Status.ACTIVE}),
    "stop": frozenset({Status.STOPPED}),
    "reboot": frozenset({Status.ACTIVE}),
    "resize": frozenset({Status.VERIFY_RESIZE}),
    "confirm_resize": frozenset({Status.ACTIVE, Status.STOPPED}),
    "revert_resize": frozenset({Status.ACTIVE, Status.STOPPED}),
    "rebuild": frozenset({Status.ACTIVE, Status.STOPPED}),
}

OP_LABELS = {
    "create": gettext_lazy("create the instance"),
    "start": gettext_lazy("start"),
    "stop": gettext_lazy("stop"),
    "reboot": gettext_lazy("reboot"),
    "resize": gettext_lazy("change the instance type"),
    "confirm_resize": gettext_lazy("confirm the type change"),
    "revert_resize": gettext_lazy("revert the type change"),
    "rebuild": gettext_lazy("rebuild"),
    "delete": gettext_lazy("delete"),
}


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def claim_lease() -> timedelta:
    return timedelta(seconds=_setting("INFRA_CLAIM_LEASE", 120))


def poll_interval(polls: int) -> float:
    """Seconds to the next look at the cloud: quick at first, then slower (a build takes seconds to minutes)."""
    base = _setting("INFRA_POLL_INTERVAL", 2.0)
    return min(base * (1.5 ** min(polls, 10)), _setting("INFRA_POLL_INTERVAL_MAX", 15.0))


def backoff(failures: int) -> float:
    """Capped exponential backoff with jitter, for transient errors."""
    base = _setting("INFRA_RETRY_BASE", 2.0)
    delay = min(base * (2 ** max(failures - 1, 0)), _setting("INFRA_RETRY_MAX", 300.0))
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not security)


def max_attempts() -> int:
    return int(_setting("INFRA_MAX_ATTEMPTS", 8))


def operation_timeout() -> timedelta:
    return timedelta(seconds=_setting("INFRA_OPERATION_TIMEOUT", 1800))


# --- servers -------------------------------------------------------------------------------------------------------


def _load(server_id: uuid.UUID | str) -> Server | None:
    return (
        Server.objects.select_related("region", "cloud_project", "flavor", "image", "project__organization")
        .filter(pk=server_id)
        .first()
    )


def drive_server(server_id: uuid.UUID | str) -> Step:
    """One step towards what the server's `pending` op asks for."""
    server = _load(server_id)
    if server is None or not server.pending.get("op"):
        return DONE
    if server.requested_at is None:
        return _send(server)
    return _poll(server)


def _claim(server: Server) -> uuid.UUID | None:
    """Take the right to send the server's request to the cloud (compare-and-set); None if another task holds it."""
    token = uuid.uuid4()
    now = timezone.now()
    free = Q(claim_token__isnull=True) | Q(claimed_at__lt=now - claim_lease())
    fields: dict[str, Any] = {"claim_token": token, "claimed_at": now, "updated_at": now}
    rows = Server.objects.filter(free, pk=server.pk, requested_at__isnull=True, version=server.version)
    if server.status == Status.PENDING:
        # PENDING -> CREATING is a status change: through the guarded transition (it also publishes it)
        if not server.transition(Status.CREATING, allowed={Status.PENDING}, **fields):
            return None
        return token if server.claim_token == token else None
    return token if rows.update(**fields) else None


def _send(server: Server) -> Step:
    op = server.pending["op"]
    token = _claim(server)
    if token is None:
        server.refresh_from_db()
        if server.requested_at is not None or not server.pending.get("op"):
            return Step(retry_in=poll_interval(0)) if server.pending.get("op") else DONE
        held = (timezone.now() - server.claimed_at) if server.claimed_at else timedelta()
        return Step(retry_in=max((claim_lease() - held).total_seconds(), 1.0))
    server.refresh_from_db()
    driver = driver_for(server.region)
    project_id = server.cloud_project.provider_id
    try:
        provider_id = _request(server, driver, project_id, op)
    except CloudError as error:
        return _failed_request(server, token, op, error)
    return _accepted(server, token, op, provider_id)


def _locked_row(server: Server) -> Server:
    return Server.objects.select_for_update().get(pk=server.pk)


def _accepted(server: Server, token: uuid.UUID, op: str, provider_id: str | None) -> Step:
    """The cloud accepted the request: remember it and release the claim. If someone changed the op meanwhile (a
    delete during a create), keep only what the cloud told us (its server id) and drive the new op at once."""
    now = timezone.now()
    with transaction.atomic():
        row = _locked_row(server)
        fields: dict[str, Any] = {"claim_token": None, "claimed_at": None, "synced_at": now}
        if provider_id and not row.provider_id:
            fields["provider_id"] = provider_id
        if row.pending.get("op") != op:
            Server.objects.filter(pk=row.pk).update(**fields)
            return Step(retry_in=0.1)
        pending = {k: v for k, v in row.pending.items() if k not in ("last_error", "failures")} | {"polls": 0}
        Server.objects.filter(pk=row.pk).update(requested_at=now, pending=pending, **fields)
        server.refresh_from_db()
        if op == "create":
            server.transition(Status.BUILDING, allowed={Status.CREATING})
        elif op == "delete" and not server.provider_id:
            _settle_deleted(server, message="")
            return DONE
    return Step(retry_in=poll_interval(0))


def _request(server: Server, driver: Any, project_id: str, op: str) -> str | None:
    """Send the op's request; returns the cloud's server id when the op is a create (or a delete found one)."""
    if op == "create":
        found = driver.find_server(project_id, request_id=str(server.request_id))
        if found is not None:
            logger.info("server %s: adopting %s made by an earlier attempt", server.pk, found.id)
            return found.id
        ensure_cloud_keypair(server, driver, project_id)
        created = driver.create_server(project_id, _spec(server))
        return created.id
    if op == "delete":
        provider_id = server.provider_id
        if not provider_id:
            found = driver.find_server(project_id, request_id=str(server.request_id))
            provider_id = found.id if found is not None else ""
        if provider_id:
            driver.delete_server(project_id, provider_id)
        return provider_id or None
    driver.server_action(project_id, server.provider_id, _action(server, op))
    return None


def _spec(server: Server) -> ServerSpec:
    networks = tuple(server.network_ids) or (
        (server.cloud_project.network_id,) if server.cloud_project.network_id else ()
    )
    return ServerSpec(
        name=server.name,
        flavor_id=server.flavor.provider_id,
        image_id=server.image.provider_id if server.image else "",
        request_id=str(server.request_id),
        network_ids=networks,
        keypair_name=server.keypair_name or None,
        user_data=server.user_data or None,
        security_groups=tuple(server.security_groups),
    )


def _action(server: Server, op: str) -> ServerAction:
    pending = server.pending
    if op == "resize":
        flavor = Flavor.objects.get(pk=pending["flavor"])
        return ServerAction("resize", flavor_id=flavor.provider_id)
    if op == "rebuild":
        image = Image.objects.get(pk=pending["image"])
        return ServerAction("rebuild", image_id=image.provider_id)
    if op == "reboot":
        return ServerAction("reboot", hard=bool(pending.get("hard")))
    return ServerAction(op)  # type: ignore[arg-type]


def _failed_request(server: Server, token: uuid.UUID, op: str, error: CloudError) -> Step:
    with transaction.atomic():
        row = _locked_row(server)
        Server.objects.filter(pk=row.pk, claim_token=token).update(claim_token=None, claimed_at=None)
        if row.pending.get("op") != op:
            return Step(retry_in=0.1)  # the op changed meanwhile: drive the new one
        failures = int(row.pending.get("failures", 0)) + 1
        if not error.permanent and failures < max_attempts():
            logger.warning("server %s: %s failed (attempt %s), retrying: %s", server.pk, op, failures, error)
            pending = {**row.pending, "failures": failures, "last_error": error.message}
            Server.objects.filter(pk=row.pk).update(pending=pending)
            return Step(retry_in=backoff(failures))
    server.refresh_from_db()
    if error.permanent:
        message = _("Could not %(op)s: %(reason)s") % {"op": OP_LABELS.get(op, op), "reason": error.message}
    else:
        message = _("Could not %(op)s: the region did not answer after %(n)s attempts (%(reason)s).") % {
            "op": OP_LABELS.get(op, op),
            "n": failures,
            "reason": error.message,
        }
    fail(server, message)
    return DONE


def fail(server: Server, message: str) -> None:
    """End the server's pending op with `message`. A create that failed leaves the server in ERROR; a refused action
    leaves it as the cloud has it (looked up once more), so one refused request never breaks a working server."""
    op = server.pending.get("op")
    observed: CloudServer | None = None
    if op != "create" and server.provider_id:
        try:
            observed = driver_for(server.region).get_server(server.cloud_project.provider_id, server.provider_id)
        except NotFound:
            _settle_deleted(server, message=_("The instance no longer exists in the cloud."))
            return
        except CloudError:
            observed = None
    with transaction.atomic():
        if observed is not None and observed.status != Status.ERROR:
            server.transition(
                observed.status,
                allowed={server.status},
                pending={},
                requested_at=None,
                error_message=message[:1000],
                **observed_fields(server, observed),
            )
        else:
            server.transition(
                Status.ERROR,
                allowed={server.status},
                pending={},
                requested_at=None,
                error_message=message[:1000],
            )
        record(
            None,
            "server.error",
            project=server.project,
            target=server,
            after={"op": op, "error": message[:500]},
        )


def _poll(server: Server) -> Step:
    op = server.pending["op"]
    driver = driver_for(server.region)
    project_id = server.cloud_project.provider_id
    polls = int(server.pending.get("polls", 0)) + 1
    try:
        if not server.provider_id:  # a delete of a server the cloud never made
            _settle_deleted(server, message="")
            return DONE
        observed = driver.get_server(project_id, server.provider_id)
    except NotFound:
        if op == "delete":
            _settle_deleted(server, message="")
        else:
            _settle_deleted(server, message=_("The instance was deleted outside the console."))
        return DONE
    except CloudError as error:
        if error.permanent:
            fail(server, _("Could not check the instance: %(reason)s") % {"reason": error.message})
            return DONE
        failures = int(server.pending.get("failures", 0)) + 1
        Server.objects.filter(pk=server.pk, version=server.version).update(
            pending={**server.pending, "polls": polls, "failures": failures, "last_error": error.message}
        )
        return Step(retry_in=backoff(failures))

    if observed.status == Status.ERROR:
        fault = observed.fault or _("the cloud reports an error without a reason")
        message = _("Could not %(op)s: %(reason)s") % {"op": OP_LABELS.get(op, op), "reason": fault}
        server.transition(
            Status.ERROR,
            allowed={server.status},
            pending={},
            requested_at=None,
            error_message=message[:1000],
            **observed_fields(server, observed),
        )
        record(None, "server.error", project=server.project, target=server, after={"op": op, "error": message[:500]})
        return DONE
    if op != "delete" and observed.status in DONE_WHEN[op] and not observed.task_state:
        _settle(server, op, observed)
        return DONE
    if timezone.now() - server.requested_at > operation_timeout():
        fail(server, _("Could not %(op)s: the cloud did not finish in time.") % {"op": OP_LABELS.get(op, op)})
        return DONE
    _observe(server, observed, polls)
    return Step(retry_in=poll_interval(polls))


def observed_fields(server: Server, observed: CloudServer) -> dict[str, Any]:
    """Mirror columns as the cloud reports them."""
    fields: dict[str, Any] = {
        "cloud_status": observed.cloud_status[:32],
        "task_state": (observed.task_state or "")[:32],
        "addresses": addresses_json(observed.addresses),
        "locked": observed.locked,
        "synced_at": timezone.now(),
    }
    flavor = flavor_for(server.region_id, observed.flavor_id)
    if flavor is not None:
        fields["flavor"] = flavor
    return fields


def addresses_json(addresses: tuple[Address, ...] | list[Address]) -> list[dict[str, Any]]:
    return [
        {"ip": a.ip, "version": a.version, "kind": a.kind, "network": a.network, "mac": a.mac}
        for a in sorted(addresses, key=lambda a: (a.kind, a.version, a.ip))
    ]


def flavor_for(region_id: uuid.UUID, provider_id: str) -> Flavor | None:
    if not provider_id:
        return None
    return Flavor.objects.filter(region_id=region_id, provider_id=provider_id).first()


def _observe(server: Server, observed: CloudServer, polls: int) -> None:
    """Keep the mirror's details current while waiting (addresses appear during a build); announce visible changes."""
    fields = observed_fields(server, observed)
    fields.pop("flavor", None)  # the type changes when the op settles
    visible = fields["addresses"] != server.addresses or fields["task_state"] != server.task_state
    with transaction.atomic():
        changed = Server.objects.filter(pk=server.pk, version=server.version).update(
            pending={**server.pending, "polls": polls}, **fields
        )
        if changed and visible:
            live.publish(server.project, "server", server.pk)


def _settle(server: Server, op: str, observed: CloudServer) -> None:
    fields = observed_fields(server, observed)
    if op == "rebuild" and server.pending.get("image"):
        fields["image_id"] = server.pending["image"]
    if op == "create" and server.launched_at is None:
        fields["launched_at"] = timezone.now()
    with transaction.atomic():
        if server.transition(
            observed.status, allowed={server.status}, pending={}, requested_at=None, error_message="", **fields
        ):
            record(None, f"server.{op}.done", project=server.project, target=server, after={"status": observed.status})


def _settle_deleted(server: Server, *, message: str) -> None:
    with transaction.atomic():
        if server.mark_deleted(message=message) and message:
            record(None, "server.vanished", project=server.project, target=server, after={"reason": message})


# --- cloud projects ------------------------------------------------------------------------------------------------


def drive_cloud_project(cloud_project_id: uuid.UUID | str) -> Step:
    """Make (or check and link) a console project's project in one region, with its default network."""
    cp = CloudProject.objects.select_related("region", "project").filter(pk=cloud_project_id).first()
    if cp is None or cp.status not in (CloudProject.Status.PENDING, CloudProject.Status.CREATING):
        return DONE
    token = uuid.uuid4()
    now = timezone.now()
    free = Q(claim_token__isnull=True) | Q(claimed_at__lt=now - claim_lease())
    claimed = CloudProject.objects.filter(
        free, pk=cp.pk, status__in=[CloudProject.Status.PENDING, CloudProject.Status.CREATING]
    ).update(status=CloudProject.Status.CREATING, claim_token=token, claimed_at=now, attempts=cp.attempts + 1)
    if not claimed:
        return Step(retry_in=claim_lease().total_seconds())
    live.publish(cp.project, "cloud_project", cp.pk)  # setting up (the Regions page shows it)
    cp.refresh_from_db()
    driver = driver_for(cp.region)
    try:
        fields: dict[str, Any]
        if cp.linked:
            found = driver.get_project(cp.provider_id)
            driver.grant_access(found.id)
            fields = {"provider_id": found.id}
        else:
            made = driver.ensure_project(
                ProjectSpec(name=cp.cloud_name, description=f"Haneul: {cp.project.organization.slug}/{cp.project.slug}")
            )
            cidr = cp.region.settings.get("default_cidr", "10.0.0.0/24")
            network = driver.ensure_default_network(made.id, cidr=cidr)
            fields = {
                "provider_id": made.id,
                "network_id": network.network_id,
                "subnet_id": network.subnet_id,
                "router_id": network.router_id,
                "cidr": network.cidr,
            }
    except CloudError as error:
        return _cloud_project_failed(cp, token, error)
    with transaction.atomic():
        CloudProject.objects.filter(pk=cp.pk, claim_token=token).update(
            status=CloudProject.Status.ACTIVE,
            claim_token=None,
            claimed_at=None,
            error_message="",
            synced_at=timezone.now(),
            updated_at=timezone.now(),
            **fields,
        )
        record(None, "project.region.ready", project=cp.project, target=cp, after={"region": cp.region.slug})
        live.publish(cp.project, "cloud_project", cp.pk)
        _enqueue_quota_push(cp)
    return DONE


def _enqueue_quota_push(cp: CloudProject) -> None:
    from infra import tasks

    pk = str(cp.pk)
    transaction.on_commit(lambda: tasks.push_quotas.delay(pk), robust=True)


def _cloud_project_failed(cp: CloudProject, token: uuid.UUID, error: CloudError) -> Step:
    if not error.permanent and cp.attempts < max_attempts():
        CloudProject.objects.filter(pk=cp.pk, claim_token=token).update(
            claim_token=None, claimed_at=None, error_message=error.message[:500]
        )
        return Step(retry_in=backoff(cp.attempts))
    if cp.linked and error.code == "not_found":
        message = _("No project %(id)s in %(region)s: check the id.") % {"id": cp.provider_id, "region": cp.region}
    else:
        message = _("Could not set up the project in %(region)s: %(reason)s") % {
            "region": cp.region,
            "reason": error.message,
        }
    with transaction.atomic():
        CloudProject.objects.filter(pk=cp.pk, claim_token=token).update(
            status=CloudProject.Status.ERROR,
            claim_token=None,
            claimed_at=None,
            error_message=message[:500],
            updated_at=timezone.now(),
        )
        record(None, "project.region.error", project=cp.project, target=cp, after={"error": message[:500]})
        live.publish(cp.project, "cloud_project", cp.pk)
    return DONE


def push_server_attributes(server_id: uuid.UUID | str, *, attempt: int = 0) -> Step:
    """Make the cloud's name and lock what the row says (desired state: running it twice changes nothing).
    `attempt` counts earlier runs of the same push (the task's retries)."""
    server = _load(server_id)
    if server is None or server.status in (Status.DELETING, Status.DELETED):
        return DONE
    if not server.provider_id:
        # still being created: the create sends the current name; come back once the cloud has the server
        waiting = server.pending.get("op") == "create" and attempt < 200
        return Step(retry_in=poll_interval(attempt)) if waiting else DONE
    driver = driver_for(server.region)
    project_id = server.cloud_project.provider_id
    try:
        observed = driver.get_server(project_id, server.provider_id)
        if observed.name != server.name:
            driver.server_action(project_id, server.provider_id, ServerAction("rename", name=server.name))
        if observed.locked != server.locked:
            driver.server_action(project_id, server.provider_id, ServerAction("lock" if server.locked else "unlock"))
    except NotFound:
        return DONE  # the reconciler marks it deleted
    except CloudError as error:
        if not error.permanent and attempt + 1 < max_attempts():
            return Step(retry_in=backoff(attempt + 1))
        Server.objects.filter(pk=server.pk).update(
            error_message=(_("Could not update the instance in the cloud: %(reason)s") % {"reason": error.message})[
                :1000
            ]
        )
        live.publish(server.project, "server", server.pk)
    return DONE


# --- quotas ----------------------------------------------------------------------------------------------------------


def push_quotas(cloud_project_id: uuid.UUID | str, *, attempt: int = 0) -> Step:
    """Make the cloud project's limits what the console says (the project's own, else the region's defaults).
    Key pairs are not limited in the cloud: they all belong to the console's service user, and the console caps them
    itself. Desired state: pushing twice changes nothing. A refusal (e.g. a limit below what the cloud counts in
    use) is kept on the quota row for operators to see."""
    cp = CloudProject.objects.select_related("project", "region").filter(pk=cloud_project_id).first()
    if cp is None or not cp.is_usable or cp.deleted_at is not None:
        return DONE  # a project being set up gets its limits when it is ready
    limits = quotas.limits(cp.project, cp.region)
    try:
        driver_for(cp.region).set_quotas(cp.provider_id, Quotas(**limits, key_pairs=-1))
    except CloudError as error:
        if not error.permanent and attempt + 1 < max_attempts():
            return Step(retry_in=backoff(attempt + 1))
        message = _("The cloud refused the limits: %(reason)s") % {"reason": error.message}
        ProjectQuota.objects.filter(project=cp.project, region=cp.region).update(push_error=message[:500])
        return DONE
    row = quotas.quota_row(cp.project, cp.region)
    ProjectQuota.objects.filter(pk=row.pk).update(pushed_at=timezone.now(), push_error="")
    return DONE


# --- key pairs -------------------------------------------------------------------------------------------------------

KEYPAIR_PREFIX = "hn-"


def ensure_cloud_keypair(server: Server, driver: Any, project_id: str) -> None:
    """Before a server's cloud create: its key pair exists in the region's cloud under its cloud name (`hn-<uuid>`;
    one that already exists is fine). The region is recorded first, so a delete always knows where to look."""
    if server.keypair_id is None:
        return
    region_id = str(server.region_id)
    with transaction.atomic():
        keypair = Keypair.objects.select_for_update().filter(pk=server.keypair_id).first()
        if keypair is None:
            return
        if region_id not in keypair.cloud_regions:
            keypair.cloud_regions = [*keypair.cloud_regions, region_id]
            keypair.save(update_fields=["cloud_regions"])
    try:
        driver.create_keypair(project_id, keypair.cloud_name, keypair.public_key)
    except CloudConflict:  # made by an earlier attempt, or for another server with the same key pair: fine
        logger.info("key pair %s: already in region %s", keypair.pk, region_id)


def _forget_region(keypair: Keypair, region_id: str) -> None:
    with transaction.atomic():
        row = Keypair.objects.select_for_update().get(pk=keypair.pk)
        row.cloud_regions = [r for r in row.cloud_regions if r != region_id]
        row.save(update_fields=["cloud_regions"])


def _keypair_calls_project(region: Region, keypair: Keypair) -> CloudProject | None:
    """A cloud project to call the region in: the key pair's own project's, else any ready one (key pairs belong
    to the console's service user, whatever the project)."""
    ready = CloudProject.objects.live().filter(region=region, status=CloudProject.Status.ACTIVE).exclude(provider_id="")
    return ready.filter(project_id=keypair.project_id).first() or ready.order_by("created_at").first()


def delete_cloud_keypair(keypair_id: uuid.UUID | str, *, attempt: int = 0) -> Step:
    """Remove a deleted key pair from every region's cloud it reached (missing there is fine). Transient errors are
    retried with backoff; what is still left after that (a region that stays down) the reconciler sweeps later."""
    keypair = Keypair.objects.filter(pk=keypair_id, deleted_at__isnull=False).first()
    if keypair is None:
        return DONE
    again = False
    for region_id in list(keypair.cloud_regions):
        region = Region.objects.filter(pk=region_id).first()
        cloud_project = _keypair_calls_project(region, keypair) if region is not None else None
        if cloud_project is None:
            _forget_region(keypair, region_id)  # no region, or no project to call it in: nothing can be there
            continue
        try:
            driver_for(region).delete_keypair(cloud_project.provider_id, keypair.cloud_name)
        except NotFound:
            pass
        except CloudError as error:
            logger.warning("key pair %s: not deleted in region %s: %s", keypair.pk, region.slug, error)
            again = again or not error.permanent
            continue
        _forget_region(keypair, region_id)
    if again and attempt + 1 < max_attempts():
        return Step(retry_in=backoff(attempt + 1))
    return DONE


def sweep_keypairs(region: Region, driver: Any) -> int:
    """The reconciler's sweep: delete the region's cloud key pairs named `hn-<uuid>` whose console key pair is
    deleted (a delete task gave up while the region was down). A key pair an instance being created still waits
    for is left alone. Returns how many were deleted."""
    caller = (
        CloudProject.objects.live()
        .filter(region=region, status=CloudProject.Status.ACTIVE)
        .exclude(provider_id="")
        .order_by("created_at")
        .first()
    )
    if caller is None:
        return 0
    ids = []
    for found in driver.list_keypairs(caller.provider_id):
        if found.name.startswith(KEYPAIR_PREFIX):
            try:
                ids.append(uuid.UUID(found.name[len(KEYPAIR_PREFIX) :]))
            except ValueError:
                continue
    gone = Keypair.objects.filter(pk__in=ids, deleted_at__isnull=False).exclude(
        servers__status__in=(Status.PENDING, Status.CREATING)
    )
    swept = 0
    for keypair in gone:
        driver.delete_keypair(caller.provider_id, keypair.cloud_name)
        _forget_region(keypair, str(region.pk))
        swept += 1
    return swept
