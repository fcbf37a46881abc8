"""Quotas: each region's default limits, a project's own limits in a region (blank: the region's default), and
tenants' requests for more. Limits follow OpenStack's (-1 is unlimited); the console enforces them in its actions
(under a lock on the project's quota row) and pushes them to the cloud project through the driver.

They live in infra, beside regions, because every limit is per (project, region) and is pushed to a cloud.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from infra.models.catalog import Region
from tenants.models import Project, TenantQuerySet

UNLIMITED = -1


class Resource(models.TextChoices):
    """What a quota limits; the values are fields of `infra.providers.base.Quotas`. (Not key pairs: they are a
    user's, not a region's; in a cloud they all belong to the console's service user, whose limit the console lifts,
    and the console caps them per user and project itself.)"""

    INSTANCES = "instances", _("Instances")
    CORES = "cores", _("vCPUs")
    RAM_MB = "ram_mb", _("RAM (MiB)")
    NETWORKS = "networks", _("Networks")
    SUBNETS = "subnets", _("Subnets")
    ROUTERS = "routers", _("Routers")
    PORTS = "ports", _("Ports")
    FLOATING_IPS = "floating_ips", _("Floating IPs")
    SECURITY_GROUPS = "security_groups", _("Security groups")
    SECURITY_GROUP_RULES = "security_group_rules", _("Security group rules")
    VOLUMES = "volumes", _("Volumes")
    GIGABYTES = "gigabytes", _("Volume storage (GiB)")
    SNAPSHOTS = "snapshots", _("Snapshots")


# OpenStack's own defaults (nova, neutron, cinder), the first defaults of a new region.
OPENSTACK_DEFAULTS = {
    "instances": 10,
    "cores": 20,
    "ram_mb": 51200,
    "networks": 100,
    "subnets": 100,
    "routers": 10,
    "ports": 500,
    "floating_ips": 50,
    "security_groups": 10,
    "security_group_rules": 100,
    "volumes": 10,
    "gigabytes": 1000,
    "snapshots": 10,
}


def _limit(resource: Resource, *, null: bool) -> models.IntegerField:
    return models.IntegerField(
        resource.label,
        null=null,
        blank=null,
        default=None if null else OPENSTACK_DEFAULTS[resource.value],
    )


class RegionQuotaDefaults(models.Model):
    """A region's default limits for every project (an operator edits them on the region's page)."""

    region = models.OneToOneField(Region, on_delete=models.CASCADE, related_name="quota_defaults")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("default quotas")
        verbose_name_plural = _("default quotas")

    def __str__(self) -> str:
        return f"defaults of {self.region}"


class ProjectQuotaQuerySet(TenantQuerySet):
    membership_path = "project__organization__memberships"


class ProjectQuota(models.Model):
    """A project's limits in one region. A blank limit follows the region's default. Actions that create resources
    lock this row (`select_for_update`) while they count, so two launches cannot pass a limit together."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="quotas")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="project_quotas")
    updated_at = models.DateTimeField(auto_now=True)
    pushed_at = models.DateTimeField(_("last pushed to the cloud"), null=True, blank=True)
    push_error = models.CharField(_("push error"), max_length=500, blank=True)

    objects = ProjectQuotaQuerySet.as_manager()

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        constraints = [
            models.UniqueConstraint(fields=["project", "region"], name="infra_projectquota_unique"),
        ]

    def __str__(self) -> str:
        return f"quotas of {self.project} in {self.region}"


for _resource in Resource:
    RegionQuotaDefaults.add_to_class(_resource.value, _limit(_resource, null=False))
    ProjectQuota.add_to_class(_resource.value, _limit(_resource, null=True))


class QuotaRequestQuerySet(TenantQuerySet):
    membership_path = "project__organization__memberships"

    def pending(self) -> QuotaRequestQuerySet:
        return self.filter(status=QuotaRequest.Status.PENDING)


class QuotaRequest(models.Model):
    """A tenant asks for a higher (or lower) limit of one resource in one region; an operator decides."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("quota request", "Pending")
        APPROVED = "approved", pgettext_lazy("quota request", "Approved")
        REJECTED = "rejected", pgettext_lazy("quota request", "Rejected")
        CANCELLED = "cancelled", pgettext_lazy("quota request", "Withdrawn")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="quota_requests")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="quota_requests")
    resource = models.CharField(_("resource"), max_length=30, choices=Resource.choices)
    current_limit = models.IntegerField(_("limit when asked"))
    requested_limit = models.IntegerField(_("requested limit"))
    reason = models.TextField(_("reason"), max_length=2000)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("asked by")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_reason = models.TextField(_("reason for the decision"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    objects = QuotaRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("quota increase request")
        verbose_name_plural = _("quota increase requests")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "region", "resource"],
                condition=models.Q(status="pending"),
                name="infra_quotarequest_one_pending",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="infra_quotarequest_queue")]

    def __str__(self) -> str:
        return f"{self.resource} → {self.requested_limit} for {self.project}"
