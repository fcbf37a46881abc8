"""Housekeeping tasks of the console itself."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task(name="console.tasks.clear_expired_sessions")
def clear_expired_sessions() -> int:
    """Delete expired login sessions (beat runs it daily); returns how many were removed."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task(name="console.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Forget API Idempotency-Keys older than their keeping time (beat runs it hourly); returns how many went."""
    from tenants.api.idempotency import purge_expired

    return purge_expired()
