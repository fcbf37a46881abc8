"""Housekeeping tasks of the console itself."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task(name="console.tasks.clear_expired_sessions")
def clear_expired_sessions() -> int:
    """Delete expired login sessions (beat runs it daily); returns how many were removed."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
