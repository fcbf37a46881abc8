"""The mirror of tenants' servers. Every status change goes through `Server.transition` (a compare-and-set), which
records usage when metering starts or stops and announces the change on the live channel after commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models, transaction
from django.db.models import Func, JSONField, TextField, Value
from django.db.models.functions import Cast, Lower, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import metering
from console.core import live
from infra.models.catalog import CloudProject, Flavor, Image, Region
from infra.providers.base import POWERED_ON, TRANSITIONAL, Status
from tenants.models import Project, TenantQuerySet

METER = "compute.instance"

# Servers that exist or are on their way: what every list reads. The lists' indexes are partial on it, so that the
# deleted rows kept for audit and billing (they only grow) never slow a list down.
LIVE = ~models.Q(status=Status.DELETED)


def address_text() -> Func:
    """A server's IP addresses as one lower-case text (`["10.0.0.5", "fd00::5"]`): what `Server.ip_text` holds."""
    ips = Func(models.F("addresses"), Value("$[*].ip"), function="jsonb_path_query_array", output_field=JSONField())
    return Lower(Cast(ips, TextField()))


class ServerQuerySet(TenantQuerySet):
    membership_path = "project__organization__memberships"

    def live(self) -> ServerQuerySet:
        """Servers that exist or are on their way (deleted ones stay as rows, for audit and billing)."""
        return self.exclude(status=Status.DELETED)

    def transitional(self) -> ServerQuerySet:
        return self.filter(status__in=TRANSITIONAL)


class Server(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="servers")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="servers")
    cloud_project = models.ForeignKey(CloudProject, on_delete=models.PROTECT, related_name="servers")
    name = models.CharField(_("name"), max_length=63)
    provider_id = models.CharField(_("cloud id"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    error_message = models.CharField(_("error"), max_length=1000, blank=True)
    request_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    flavor = models.ForeignKey(Flavor, on_delete=models.PROTECT, related_name="+", verbose_name=_("instance type"))
    image = models.ForeignKey(
        Image, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("image")
    )
    keypair = models.ForeignKey(
        "infra.Keypair",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="servers",
        verbose_name=_("key pair"),
    )
    keypair_name = models.CharField(_("key pair"), max_length=255, blank=True)  # its name in the cloud
    user_data = models.TextField(_("user data"), blank=True)
    network_ids = models.JSONField(default=list, blank=True)
    security_groups = models.JSONField(default=list, blank=True)
    addresses = models.JSONField(_("addresses"), default=list, blank=True)
    # The addresses' IPs as one lower-case text, kept by PostgreSQL (a stored generated column), for the lists' partial
    # IP search: `ip_text LIKE '%10.0.0.%'` finds a part of an address, never a MAC or a network's name, through a
    # trigram index (infra_server_ips_trgm) whose matches are checked again on this short text, not the JSON.
    ip_text = models.GeneratedField(expression=address_text(), output_field=models.TextField(), db_persist=True)
    locked = models.BooleanField(_("locked"), default=False)
    cloud_status = models.CharField(max_length=32, blank=True)
    task_state = models.CharField(max_length=32, blank=True)
    # What the current transitional status is for, e.g. {"flavor": "<uuid>"} for a resize, {"hard": true}.
    pending = models.JSONField(default=dict, blank=True)
    # Who is sending the current request to the cloud (a task's claim), and when the cloud accepted it.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=0)
    adopted = models.BooleanField(_("created outside the console"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    objects = ServerQuerySet.as_manager()

    class Meta:
        verbose_name = _("instance")
        verbose_name_plural = _("instances")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "provider_id"],
                condition=~models.Q(provider_id=""),
                name="infra_server_provider_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="infra_server_project_created"),
            models.Index(
                fields=["status", "updated_at"],
                name="infra_server_transitional",
                condition=models.Q(status__in=sorted(TRANSITIONAL)),
            ),
            # The lists (a project's page and API, the operators' page): one index per filter and sort they offer,
            # each ending with the id so that pages (offsets, cursors, keysets) have one order.
            models.Index(fields=["project", "created_at", "id"], name="infra_server_live_created", condition=LIVE),
            models.Index(
                fields=["project", "status", "-created_at", "-id"], name="infra_server_live_status", condition=LIVE
            ),
            models.Index(fields=["project", "name", "created_at", "id"], name="infra_server_live_name", condition=LIVE),
            models.Index(
                fields=["project", "flavor", "created_at", "id"], name="infra_server_live_flavor", condition=LIVE
            ),
            models.Index(
                fields=["project", "image", "created_at", "id"], name="infra_server_live_image", condition=LIVE
            ),
            models.Index(fields=["created_at", "id"], name="infra_server_live_all", condition=LIVE),
            # The operators' regions pages count a region's live servers (an index-only scan: ~5 ms at 100,000).
            models.Index(fields=["region"], name="infra_server_live_region", condition=LIVE),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="infra_server_name_trgm", condition=LIVE),
            GinIndex(fields=["ip_text"], opclasses=["gin_trgm_ops"], name="infra_server_ips_trgm", condition=LIVE),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def live_group(self) -> str:
        return live.project_group(self.project_id)

    @property
    def is_transitional(self) -> bool:
        return self.status in TRANSITIONAL

    def transition(self, to: Status | str, *, allowed: Iterable[Status | str] | None = None, **fields: Any) -> bool:
        """Move to `to` if the row's status (in the database, now) is in `allowed` (any, if None): a compare-and-set,
        so of two workers only one wins. Other columns in `fields` change with it. Records usage when the server
        starts or stops being metered (or changes type while metered), and publishes `server` after commit.
        Returns whether this call made the change; the instance is refreshed either way."""
        to = Status(to)
        allowed = None if allowed is None else {Status(s) for s in allowed}
        fields.setdefault("updated_at", timezone.now())
        with transaction.atomic():
            for _attempt in range(5):
                row = Server.objects.filter(pk=self.pk).values("status", "version", "flavor_id").first()
                if row is None or (allowed is not None and row["status"] not in allowed):
                    self.refresh_from_db()
                    return False
                changed = Server.objects.filter(pk=self.pk, version=row["version"]).update(
                    status=to, version=row["version"] + 1, **fields
                )
                if changed:
                    break
            else:
                self.refresh_from_db()
                return False
            self.refresh_from_db()
            self._meter(Status(row["status"]), row["flavor_id"], row["version"] + 1)
            live.publish(self.project, "server", self.pk)
        return True

    def mark_deleted(self, *, message: str = "", allowed: Iterable[Status | str] | None = None) -> bool:
        """The server is gone from the cloud: DELETED (its metering stops), with nothing pending. `message` says why
        when the console did not delete it. A transition like any other: False if `allowed` no longer holds."""
        now = timezone.now()
        return self.transition(
            Status.DELETED,
            allowed=set(Status) - {Status.DELETED} if allowed is None else allowed,
            pending={},
            requested_at=None,
            claim_token=None,
            deleted_at=now,
            synced_at=now,
            error_message=message[:1000],
        )

    def _meter(self, before: Status, before_flavor: uuid.UUID, version: int) -> None:
        was_on, is_on = before in POWERED_ON, self.status in POWERED_ON
        flavor_changed = before_flavor != self.flavor_id
        if was_on and (not is_on or flavor_changed):
            self._record("stop", before_flavor, version)
        if is_on and (not was_on or flavor_changed):
            self._record("start", self.flavor_id, version)

    def _record(self, action: str, flavor_id: uuid.UUID, version: int) -> None:
        flavor = self.flavor if flavor_id == self.flavor_id else Flavor.objects.get(pk=flavor_id)
        metering.record(
            organization_id=self.project.organization_id,
            project_id=self.project_id,
            meter=METER,
            action=action,
            resource_type="server",
            resource_id=self.pk,
            region_id=self.region_id,
            dimensions={"flavor": flavor.name, "vcpus": flavor.vcpus, "ram_mb": flavor.ram_mb},
            idempotency_key=f"server:{self.pk}:{version}:{action}:{flavor_id}",
        )
