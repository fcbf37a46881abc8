from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from console.tasks import clear_expired_sessions


def make_session(*, expired: bool) -> str:
    store = SessionStore()
    store["k"] = "v"
    store.create()
    if expired:
        Session.objects.filter(pk=store.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    return store.session_key


@pytest.mark.django_db
def test_clear_expired_sessions_removes_only_expired_ones():
    old, fresh = make_session(expired=True), make_session(expired=False)
    assert clear_expired_sessions() == 1
    assert not Session.objects.filter(pk=old).exists()
    assert Session.objects.filter(pk=fresh).exists()


@pytest.mark.django_db(transaction=True)
def test_worker_subprocess_runs_tasks_against_the_test_database(celery_worker_process):
    old = make_session(expired=True)
    result = clear_expired_sessions.delay()
    assert result.get(timeout=30) == 1
    assert not Session.objects.filter(pk=old).exists()


def test_beat_schedules_the_session_cleanup(settings):
    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "console.tasks.clear_expired_sessions" in entries
