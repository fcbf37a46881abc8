"""Operators' changes to regions: open or close a region to new resources, set a region's failure injection, and
ask for a health check now. Each is an operator-only action with an audit row (no organisation: a region belongs
to the platform), as `tenants.actions` does for suspensions.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra.models import Region
from infra.providers import supports
from infra.tasks import check_region
from tenants.audit import Actor, record
from tenants.audit_labels import FIELD_LABELS, register_actions
from tenants.policy import ActionError, Conflict, ensure_operator


def has_failure_injection(region: Region) -> bool:
    """Whether the region's driver reads failure-injection settings (a capability of its provider's driver)."""
    return supports(region.provider, "failure_injection")


FAILURE_INJECTION_KEYS = ("speed", "error_rate", "latency_ms", "outage")
MAX_LATENCY_MS = 60_000
MAX_SPEED = 10_000.0


def register_audit_labels() -> None:
    """The activity pages' labels of region actions and their fields (called from InfraConfig.ready)."""
    register_actions(
        "region",
        gettext_lazy("Regions"),
        {
            "region.enable": gettext_lazy("Region opened to new resources"),
            "region.disable": gettext_lazy("Region closed to new resources"),
            "region.failure_injection": gettext_lazy("Region failure injection changed"),
        },
    )
    FIELD_LABELS.update(
        {
            "enabled": gettext_lazy("enabled"),  # generic: other apps' events may use the key too
            "speed": gettext_lazy("speed"),
            "error_rate": gettext_lazy("error rate"),
            "latency_ms": gettext_lazy("added latency (ms)"),
            "outage": gettext_lazy("outage"),
        }
    )


@transaction.atomic
def set_region_enabled(*, actor: Actor, region: Region, enabled: bool) -> Region:
    """Open a region to new resources or close it. Closing keeps what runs there running and manageable; the
    launch wizard and the API stop offering the region for new resources."""
    ensure_operator(actor)
    region = Region.objects.select_for_update().get(pk=region.pk)
    if region.enabled == enabled:
        message = _("%(region)s is already open.") if enabled else _("%(region)s is already closed.")
        raise Conflict(message % {"region": region.name})
    region.enabled = enabled
    region.save(update_fields=["enabled"])
    record(
        actor,
        "region.enable" if enabled else "region.disable",
        target=region,
        before={"enabled": not enabled},
        after={"enabled": enabled},
    )
    return region


def validate_failure_injection(*, speed: float, error_rate: float, latency_ms: int) -> None:
    """The rules of failure injection settings (the form shows the same ones per field)."""
    if not 0 < speed <= MAX_SPEED:
        raise ActionError(_("Speed must be more than 0 and at most %(max)s.") % {"max": f"{MAX_SPEED:g}"})
    if not 0 <= error_rate <= 1:
        raise ActionError(_("The error rate must be between 0 and 1."))
    if not 0 <= latency_ms <= MAX_LATENCY_MS:
        raise ActionError(_("The added latency must be between 0 and %(max)s ms.") % {"max": MAX_LATENCY_MS})


@transaction.atomic
def set_failure_injection(
    *, actor: Actor, region: Region, speed: float, error_rate: float, latency_ms: int, outage: bool
) -> Region:
    """Change how the region's cloud misbehaves, for demos and tests: its speed (a multiplier of its timings), the
    share of calls that fail as transient errors, an added delay per call, and a whole-region outage.

    Only these keys change, under a row lock: the driver consumes one-shot `faults` from the same settings."""
    ensure_operator(actor)
    region = Region.objects.select_for_update().get(pk=region.pk)
    if not has_failure_injection(region):
        raise ActionError(_("%(region)s has no failure injection.") % {"region": region.name})
    validate_failure_injection(speed=speed, error_rate=error_rate, latency_ms=latency_ms)
    settings: dict[str, Any] = dict(region.settings or {})
    before = {key: settings.get(key) for key in FAILURE_INJECTION_KEYS}
    after = {"speed": speed, "error_rate": error_rate, "latency_ms": latency_ms, "outage": outage}
    settings.update(after)
    region.settings = settings
    region.save(update_fields=["settings"])
    changed = [key for key in FAILURE_INJECTION_KEYS if before[key] != after[key]]
    if changed:
        record(
            actor,
            "region.failure_injection",
            target=region,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
    request_health_check(actor=actor, region=region)
    return region


def request_health_check(*, actor: Actor, region: Region) -> None:
    """Check the region's health as soon as this transaction commits (a task: pages never call a cloud)."""
    ensure_operator(actor)
    region_id = str(region.pk)
    transaction.on_commit(lambda: check_region.delay(region_id))
