"""Console notifications (the bell in the top bar) and their e-mails: one call tells a person something.

    from tenants.notify import notify

    # in an action, e.g. an operator approving a quota increase request (in its transaction):
    project = quota_request.project
    notify(
        quota_request.requested_by,
        kind="quota_request.approved",
        subject_template="infra/quotas/notify_decided_subject.txt",  # one line: "Quota increase approved"
        body_template="infra/quotas/notify_decided_body.txt",  # plain text, may use {{ recipient }}
        context={"quota_request": quota_request, "reason": quota_request.decision_reason},
        project=project,  # organization is then the project's
        url=reverse("quotas", kwargs={"org_slug": project.organization.slug, "project_slug": project.slug}),
    )

The subject and body are rendered once, in the recipient's language and time zone (their profile's choice, else
the console's default: never the language of whoever caused it), and kept on the row: the bell, the notifications
page, the API and the e-mail all show the same words. The row is made in the caller's transaction; after it
commits, the user's open pages get the new bell (`live`, group `user.<id>`) and a Celery task sends the e-mail
(`tenants.tasks.send_notification_email`, retried with backoff), so a slow mail server never slows the action and
nothing at all leaves if the transaction rolls back.

Reading is personal, not an organisation's change: `mark_read` / `mark_all_read` are the only code that sets
`read_at` (the page and the API call them); they are not audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from console.core import live
from tenants.l10n import user_locale
from tenants.models import Notification, Organization, Project, User

LIVE_KIND = "notification"
LATEST = 5  # notifications in the bell's dropdown
TITLE_LENGTH = Notification._meta.get_field("title").max_length


def is_local_path(url: str) -> bool:
    """A path on this console ("/o/…"), never another site: no scheme, no host ("//evil", "/\\evil" refused)."""
    return (
        url.startswith("/")
        and not url.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(url, allowed_hosts=None)
    )


def absolute_url(path: str) -> str:
    """A local path made absolute with the console's public address (settings.SITE_URL), for e-mails."""
    return settings.SITE_URL.rstrip("/") + path


def render_text(template_name: str, context: Mapping[str, Any]) -> str:
    """A plain-text template rendered without HTML escaping: the text is stored, and escaped where it is shown."""
    template = get_template(template_name).template
    return template.render(Context(dict(context), autoescape=False))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def notify(
    user: User,
    *,
    kind: str,
    subject_template: str,
    body_template: str,
    context: Mapping[str, Any],
    organization: Organization | None = None,
    project: Project | None = None,
    url: str = "",
    email: bool = True,
) -> Notification:
    """Tell `user` something in the console (and by e-mail unless `email=False`); see the module's docstring.

    `subject_template` renders the title (one line; whitespace is folded, cut at 200 characters), `body_template`
    the message (plain text, may be empty), both without HTML escaping (pages escape what they show), with
    `context` plus `recipient` (the user). `url` is a local path ("/o/studio/main/quotas/") that opening the
    notification leads to; the e-mail links to it made absolute.
    `kind` names what happened ("quota_request.approved"): for filtering and for code, never shown.
    """
    if url and not is_local_path(url):
        raise ValueError(f"a notification leads to a path on this console, not {url!r}")
    if project is not None and organization is None:
        organization = project.organization
    values = {**context, "recipient": user}
    with user_locale(user):
        title = _one_line(render_text(subject_template, values))[:TITLE_LENGTH]
        body = render_text(body_template, values).strip()
    notification = Notification.objects.create(
        user=user, organization=organization, project=project, kind=kind, title=title, body=body, url=url
    )
    live.publish(live.user_group(user.pk), LIVE_KIND, notification.pk)
    if email and user.email:
        transaction.on_commit(lambda: _enqueue_email(notification.pk), robust=True)
    return notification


def _enqueue_email(notification_id: uuid.UUID) -> None:
    from tenants.tasks import send_notification_email

    send_notification_email.delay(str(notification_id))


# Reading ---------------------------------------------------------------------------------------------------------


@transaction.atomic
def mark_read(
    user: User, notification_id: uuid.UUID | str, *, organization_id: uuid.UUID | None = None
) -> Notification | None:
    """Mark one of the user's notifications read (the first time stays); None if it is not theirs (or, with
    `organization_id`, not about that organisation: an API token sees only its organisation's)."""
    mine = Notification.objects.select_for_update().filter(pk=notification_id, user=user)
    if organization_id is not None:
        mine = mine.filter(organization_id=organization_id)
    notification = mine.first()
    if notification is None:
        return None
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        live.publish(live.user_group(user.pk), LIVE_KIND, notification.pk)
    return notification


@transaction.atomic
def mark_all_read(user: User, *, organization_id: uuid.UUID | None = None) -> int:
    """Mark all the user's unread notifications read (only one organisation's with `organization_id`); how many."""
    unread = Notification.objects.unread().filter(user=user)
    if organization_id is not None:
        unread = unread.filter(organization_id=organization_id)
    count = unread.update(read_at=timezone.now())
    if count:
        live.publish(live.user_group(user.pk), LIVE_KIND, "all")
    return count


# The bell --------------------------------------------------------------------------------------------------------


class Bell:
    """What the bell shows: the unread count and the latest notifications, in one query."""

    def __init__(self, user: User) -> None:
        unread = (
            Notification.objects.unread()
            .filter(user_id=user.pk)
            .order_by()
            .values("user_id")
            .annotate(n=models.Count("pk"))
            .values("n")
        )
        self.latest = list(
            Notification.objects.filter(user_id=user.pk)
            .annotate(unread_total=Coalesce(models.Subquery(unread), 0))
            .order_by("-created_at", "-pk")[:LATEST]
        )
        # No notification at all: nothing unread either.
        self.unread = self.latest[0].unread_total if self.latest else 0

    @property
    def unread_label(self) -> str:
        return "9+" if self.unread > 9 else str(self.unread)


BELL_TEMPLATE = "console/_notifications_menu.html"
BELL_VARIANTS = ("", "-mobile")  # the top bar's bell, and the small screens' (ids notifications-menu[-mobile])


def render_bell(user: User) -> str:
    """Both bells of a page (top bar and small screens) as `hx-swap-oob` fragments: what a live event or the
    bell's own "Mark all as read" swaps in."""
    bell = Bell(user)
    return "".join(
        render_to_string(BELL_TEMPLATE, {"bell": bell, "variant": variant, "oob": True}) for variant in BELL_VARIANTS
    )


def render_live(page: Any, pk: str) -> str | None:
    """The live renderer of kind "notification" (sent to `user.<id>` only): the connection's own user's bell.
    It shows only the viewer's notifications, whatever `pk` names. An operator visiting a tenant's page (no
    membership in the scope) gets nothing live: their bell is up to date at the next page load."""
    membership = getattr(page, "membership", None)
    if membership is None:
        return None
    return render_bell(membership.user)
