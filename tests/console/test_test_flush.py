"""The test harness's own guarantee: a transactional test's flush outlasts other connections' work (the daphne and
Celery subprocesses), so no test starts on the rows of the one before."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import connection
from django.test import TransactionTestCase

from tenants.models import Organization


def _new_connection(*, autocommit: bool = False) -> psycopg.Connection:
    """Another connection to the test database, opened as Django opens its own."""
    other = connection.get_new_connection(connection.get_connection_params())
    other.autocommit = autocommit
    return other


def test_a_flush_chosen_as_a_deadlock_victim_is_retried_and_empties_the_database(transactional_db, capsys):
    Organization.objects.create(name="Left Over", slug="left-over")
    # The flush truncates the tables in this order (the same process builds the same list): another connection that
    # holds the last table and then wants the first one deadlocks with it, and the flush, which waited first, is the
    # one PostgreSQL aborts.
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    first, last = connection.ops.quote_name(tables[0]), connection.ops.quote_name(tables[-1])
    other = _new_connection()
    other.execute(f"LOCK TABLE {last} IN ROW EXCLUSIVE MODE")

    def want_the_first_table_once_the_flush_waits() -> None:
        with _new_connection(autocommit=True) as watcher:
            for _ in range(500):
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE 'TRUNCATE%%'"
                ).fetchone()[0]
                if waiting:
                    break
                threading.Event().wait(0.02)
        # Granted once the flush is aborted; the retry then ends this connection, rolling its transaction back.
        other.execute(f"LOCK TABLE {first} IN ROW EXCLUSIVE MODE")

    thread = threading.Thread(target=want_the_first_table_once_the_flush_waits)
    thread.start()
    try:
        TransactionTestCase()._fixture_teardown()
        thread.join(timeout=30)

        assert not thread.is_alive()
        assert not Organization.objects.exists()
        assert "flush failed (OperationalError('deadlock detected" in capsys.readouterr().err
        with pytest.raises(psycopg.OperationalError):
            other.execute("SELECT 1")
    finally:
        thread.join(timeout=30)
        other.close()  # whatever happened, its locks must not outlive the test (the last flush would wait for them)
