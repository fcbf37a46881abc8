"""Billing's tables. `UsageEvent` is the outbox of metering: written in the same transaction as the state change
that causes it (`billing.metering.record`), unique per idempotency key, rated into usage records later."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UsageEvent(models.Model):
    """A meter started or stopped for a resource (`start`/`stop`), or a counted use (`count`, with `quantity`).

    Foreign keys carry no constraint: usage outlives the resources, projects and organisations it speaks of."""

    class Action(models.TextChoices):
        START = "start", _("started")
        STOP = "stop", _("stopped")
        COUNT = "count", _("counted")

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    project = models.ForeignKey("tenants.Project", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    region_id = models.UUIDField(null=True, blank=True)
    meter = models.CharField(_("meter"), max_length=64)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    resource_type = models.CharField(max_length=32)
    resource_id = models.UUIDField()
    dimensions = models.JSONField(default=dict, blank=True)
    quantity = models.DecimalField(max_digits=20, decimal_places=6, default=1)
    at = models.DateTimeField(_("time"), default=timezone.now)
    idempotency_key = models.CharField(max_length=200, unique=True)
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["project", "meter", "at"], name="billing_usage_project_meter_at"),
            models.Index(fields=["resource_id", "at"], name="billing_usage_resource_at"),
        ]

    def __str__(self) -> str:
        return f"{self.meter} {self.action} {self.resource_type}:{self.resource_id} at {self.at:%Y-%m-%d %H:%M:%S}"
