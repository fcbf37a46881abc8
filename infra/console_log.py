"""A server's console log: fetched from the cloud by a task, kept in the cache, pushed to the open page.

Pages never call the cloud: the detail page's "Fetch latest" asks for it (`request_fetch`), a task fetches it
(`fetch`, through the region's driver) and stores what it got, or why it got nothing, for an hour; the live channel's
`server_console` event tells the open page to show it, and a later GET of the tab shows the stored one:

    console_log.request_fetch(server, lines=200)   # in the view: marks it pending, enqueues the task after commit
    log = console_log.stored(server.pk)             # what the tab shows (None: never fetched, or expired)

The text is the guest's serial output: it may hold what the instance printed at boot (cloud-init prints generated
passwords and host keys there), so it is read by members and above, as nova's own default policy has it.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from console.core import live
from infra import provisioning
from infra.models import Server
from infra.providers import driver_for
from infra.providers.base import CloudError, NotFound

KIND = "server_console"  # the live event (infra.live renders it)
LINE_CHOICES = (50, 200, 1000)
DEFAULT_LINES = 200
KEEP_SECONDS = 3600  # how long a fetched log stays readable
MAX_CHARS = 512 * 1024  # a thousand lines of a chatty boot stay far below this; a runaway line does not fill Redis
STALE_AFTER = timedelta(minutes=2)  # a fetch still pending after this is reported as not finished


@dataclass(frozen=True)
class ConsoleLog:
    """What the page shows: the text of the last fetch (or the reason there is none), and whether a newer fetch
    is on its way."""

    text: str = ""
    lines: int = DEFAULT_LINES
    fetched_at: datetime | None = None
    error: str = ""
    pending: bool = False
    requested_at: datetime | None = None
    requested_lines: int = DEFAULT_LINES

    @property
    def is_stale(self) -> bool:
        """A fetch was asked for long ago and never answered (a lost task): the page offers to try again."""
        return self.pending and self.requested_at is not None and timezone.now() - self.requested_at > STALE_AFTER

    @property
    def is_empty(self) -> bool:
        return self.fetched_at is not None and not self.text.strip() and not self.error


def cache_key(server_id: uuid.UUID | str) -> str:
    return f"infra:console-log:{server_id}"


def stored(server_id: uuid.UUID | str) -> ConsoleLog | None:
    """The server's stored console log, or None if none was fetched (or asked for) in the last hour."""
    data = cache.get(cache_key(server_id))
    if not isinstance(data, dict):
        return None
    try:
        return ConsoleLog(**data)
    except TypeError:  # written by an older version of this module
        return None


def _store(server_id: uuid.UUID | str, log: ConsoleLog) -> None:
    cache.set(cache_key(server_id), asdict(log), KEEP_SECONDS)


def clean_lines(value: object) -> int:
    """The number of lines asked for, as one of LINE_CHOICES (anything else: the default)."""
    try:
        lines = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_LINES
    return lines if lines in LINE_CHOICES else DEFAULT_LINES


def request_fetch(server: Server, *, lines: int = DEFAULT_LINES) -> ConsoleLog:
    """Ask for the latest `lines` lines: the stored log (if any) is kept and marked pending, and the task is sent
    after the current transaction commits. Returns what the page shows meanwhile."""
    from infra import tasks

    lines = clean_lines(lines)
    previous = stored(server.pk) or ConsoleLog()
    log = ConsoleLog(
        text=previous.text,
        lines=previous.lines,
        fetched_at=previous.fetched_at,
        error=previous.error,
        pending=True,
        requested_at=timezone.now(),
        requested_lines=lines,
    )
    _store(server.pk, log)
    pk = str(server.pk)
    transaction.on_commit(lambda: tasks.fetch_console_log.delay(pk, lines), robust=True)
    return log


def _finish(server: Server, log: ConsoleLog) -> None:
    _store(server.pk, log)
    live.publish(server.project, KIND, server.pk)


def fetch(server_id: uuid.UUID | str, lines: int = DEFAULT_LINES, *, attempt: int = 0) -> provisioning.Step:
    """The task's one step: ask the cloud for the console log and store it (or why there is none), then tell the
    page. A transient cloud error is retried with backoff (`Step.retry_in`), as the other tasks do."""
    lines = clean_lines(lines)
    server = Server.objects.select_related("region", "cloud_project", "project").filter(pk=server_id).first()
    if server is None:
        return provisioning.DONE
    now = timezone.now()

    def failed(message: str) -> provisioning.Step:
        _finish(server, ConsoleLog(lines=lines, fetched_at=now, error=message, requested_lines=lines))
        return provisioning.DONE

    if server.status == "DELETED":
        return failed(_("The instance is deleted: it has no console any more."))
    if not server.provider_id or not server.cloud_project.provider_id:
        return failed(_("The instance does not exist in the cloud yet: fetch the log once it is running."))
    try:
        text = driver_for(server.region).console_log(server.cloud_project.provider_id, server.provider_id, lines=lines)
    except NotFound:
        return failed(_("The cloud no longer knows this instance, so it has no console log."))
    except CloudError as error:
        if not error.permanent and attempt + 1 < provisioning.max_attempts():
            return provisioning.Step(retry_in=provisioning.backoff(attempt + 1))
        if error.permanent:
            return failed(_("The cloud refused to give the console log: %(reason)s") % {"reason": error.message})
        return failed(
            _("%(region)s did not answer after %(n)s attempts (%(reason)s). Try again later.")
            % {"region": server.region.name, "n": attempt + 1, "reason": error.message}
        )
    text = (text or "")[-MAX_CHARS:]
    _finish(server, ConsoleLog(text=text, lines=lines, fetched_at=now, requested_lines=lines))
    return provisioning.DONE
