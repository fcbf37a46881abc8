"""Metering: `record` writes one `UsageEvent` in the caller's transaction (an outbox), so usage is recorded exactly
when the state change that causes it commits, and never twice (the idempotency key is unique)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import UsageEvent


def record(
    *,
    organization_id: UUID,
    project_id: UUID,
    meter: str,
    action: str,
    resource_type: str,
    resource_id: UUID,
    idempotency_key: str,
    region_id: UUID | None = None,
    dimensions: dict[str, Any] | None = None,
    quantity: Decimal | int = 1,
    at: dt.datetime | None = None,
) -> UsageEvent | None:
    """Record a meter's start/stop (or a counted use). Returns the new event, or None when the key was recorded
    before (a retried transition): the caller's transaction goes on either way."""
    try:
        with transaction.atomic():
            return UsageEvent.objects.create(
                organization_id=organization_id,
                project_id=project_id,
                region_id=region_id,
                meter=meter,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                dimensions=dimensions or {},
                quantity=quantity,
                at=at or timezone.now(),
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        if UsageEvent.objects.filter(idempotency_key=idempotency_key).exists():
            return None
        raise
