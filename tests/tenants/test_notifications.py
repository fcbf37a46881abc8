"""Console notifications: `tenants.notify.notify` (recipient's language and time zone, after-commit e-mail through
a retried Celery task), the bell on every page, the notifications page and opening one (never an open redirect)."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from tenants import notify as notify_module
from tenants import tasks
from tenants.models import Notification, User
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

SUBJECT = "{% load i18n %}{% translate 'Project' %}: {{ name }}\n"
BODY = (
    "{% load i18n %}{% get_current_language as language %}{% translate 'Members' %} "
    "{{ at|date:'H:i' }} ({{ language }}) for {{ recipient.email }}\n"
)
AT = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)


@pytest.fixture
def note_templates(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Test-only templates `notes/subject.txt` and `notes/body.txt` (strings the catalogues translate)."""
    folder = tmp_path / "templates"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "subject.txt").write_text(SUBJECT)
    (folder / "notes" / "body.txt").write_text(BODY)
    engines = [dict(engine) for engine in settings.TEMPLATES]
    engines[0]["DIRS"] = [*engines[0]["DIRS"], folder]
    settings.TEMPLATES = engines
    return folder


@pytest.fixture
def celery_eager():  # type: ignore[no-untyped-def]
    from console.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def choose(user: User, language: str = "", time_zone: str = "") -> User:
    User.objects.filter(pk=user.pk).update(language=language, time_zone=time_zone)
    return User.objects.get(pk=user.pk)


def send(user: User, *, url: str = "/o/studio-a/", email: bool = True, name: str = "Nebula", **extra) -> Notification:  # type: ignore[no-untyped-def]
    return notify_module.notify(
        user,
        kind="test.happened",
        subject_template="notes/subject.txt",
        body_template="notes/body.txt",
        context={"name": name, "at": AT},
        url=url,
        email=email,
        **extra,
    )


# What is written ---------------------------------------------------------------------------------------------------


def test_text_is_written_in_each_recipients_language_and_time_zone(tenant_a: Tenant, note_templates: Path) -> None:
    korean = choose(tenant_a.owner, "ko", "Asia/Seoul")
    english = choose(tenant_a.member, "en", "UTC")
    with translation.override("en"):  # the caller's own language does not matter
        to_korean = send(korean, organization=tenant_a.organization)
    with translation.override("ko"):
        to_english = send(english, project=tenant_a.project)

    to_korean.refresh_from_db()
    assert to_korean.title == "프로젝트: Nebula"
    assert to_korean.body == f"멤버 09:30 (ko) for {korean.email}"
    to_english.refresh_from_db()
    assert to_english.title == "Project: Nebula"
    assert to_english.body == f"Members 00:30 (en) for {english.email}"
    assert to_english.organization_id == tenant_a.organization.pk  # taken from the project
    assert (to_korean.kind, to_korean.url, to_korean.read_at) == ("test.happened", "/o/studio-a/", None)


def test_text_is_stored_as_written_and_escaped_once_where_shown(tenant_a: Tenant, note_templates: Path) -> None:
    note = send(tenant_a.owner, name="O'Brien <b>&</b>")
    assert note.title == "Project: O'Brien <b>&</b>"
    page = tenant_a.client("owner").get(reverse("notifications")).content.decode()
    assert "Project: O&#x27;Brien &lt;b&gt;&amp;&lt;/b&gt;" in page
    assert "<b>&</b>" not in page and "&amp;#x27;" not in page


def test_a_recipient_without_a_chosen_language_gets_the_site_default(tenant_a: Tenant, note_templates: Path) -> None:
    undecided = choose(tenant_a.viewer)
    with translation.override("ko"):
        note = send(undecided)
    assert settings.LANGUAGE_CODE == "en"  # the tests' site default
    assert note.title == "Project: Nebula"
    assert "(en)" in note.body


def test_a_notification_leads_only_to_a_path_on_this_console(tenant_a: Tenant, note_templates: Path) -> None:
    for url in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            send(tenant_a.owner, url=url)
    assert not Notification.objects.exists()


# The e-mail -------------------------------------------------------------------------------------------------------


def test_email_is_sent_once_after_commit_in_the_recipients_language_with_an_absolute_link(
    tenant_a: Tenant, note_templates: Path, django_capture_on_commit_callbacks, celery_eager
) -> None:  # type: ignore[no-untyped-def]
    korean = choose(tenant_a.owner, "ko", "Asia/Seoul")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = send(korean, url="/o/studio-a/main/")
    assert not mail.outbox  # nothing before the commit
    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [korean.email]
    assert message.subject == f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}프로젝트: Nebula"
    assert note.body in message.body
    assert f"{settings.SITE_URL}/o/studio-a/main/\n" in message.body
    assert f"{settings.SITE_URL}/notifications/" in message.body
    assert settings.SITE_URL.startswith("http")

    # A copy delivered again (acks_late, a worker that died after sending) sends nothing more.
    assert tasks.send_notification_email.delay(str(note.pk)).get() is False
    assert len(mail.outbox) == 1


def test_nothing_is_kept_announced_or_sent_when_the_transaction_rolls_back(
    tenant_a: Tenant, note_templates: Path, django_capture_on_commit_callbacks, celery_eager
) -> None:  # type: ignore[no-untyped-def]
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        send(tenant_a.owner)
        raise RuntimeError("the action failed after notifying")
    assert callbacks == []  # neither the live event nor the e-mail task
    assert not Notification.objects.exists()
    assert not mail.outbox


def test_email_false_writes_the_notification_without_mail(
    tenant_a: Tenant, note_templates: Path, django_capture_on_commit_callbacks, celery_eager
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send(tenant_a.owner, email=False)
    assert len(callbacks) == 1  # the live event only
    assert Notification.objects.filter(user=tenant_a.owner).count() == 1
    assert not mail.outbox


class FlakyBackend(LocmemBackend):
    """A mail server that drops the connection the first `failures` times, then accepts."""

    failures = 0
    attempts = 0
    error: Exception = smtplib.SMTPServerDisconnected("connection unexpectedly closed")

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        type(self).attempts += 1
        if type(self).attempts <= type(self).failures:
            raise type(self).error
        return super().send_messages(messages)


@pytest.fixture
def flaky_mail(settings):  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.attempts = 0
    yield FlakyBackend
    FlakyBackend.error = smtplib.SMTPServerDisconnected("connection unexpectedly closed")


def test_a_mail_server_that_is_down_is_tried_again_until_it_accepts(
    tenant_a: Tenant, note_templates: Path, celery_eager, flaky_mail
) -> None:  # type: ignore[no-untyped-def]
    flaky_mail.failures = 2
    note = send(tenant_a.owner, email=False)
    assert tasks.send_notification_email.delay(str(note.pk)).get() is True
    assert flaky_mail.attempts == 3
    assert len(mail.outbox) == 1


def test_a_refusal_retrying_cannot_change_is_not_retried(
    tenant_a: Tenant, note_templates: Path, celery_eager, flaky_mail
) -> None:  # type: ignore[no-untyped-def]
    flaky_mail.failures = 5
    flaky_mail.error = smtplib.SMTPRecipientsRefused({"owner@studio-a.example.com": (550, b"no such user")})
    note = send(tenant_a.owner, email=False)
    assert tasks.send_notification_email.delay(str(note.pk)).get() is False
    assert flaky_mail.attempts == 1
    assert not mail.outbox


def test_retries_back_off_exponentially_up_to_a_cap() -> None:
    delays = [tasks.retry_delay(n) for n in range(tasks.MAX_RETRIES)]
    assert delays[:3] == [30, 60, 120]
    assert delays == sorted(delays)
    assert max(delays) == tasks.MAX_DELAY
    assert tasks.send_notification_email.acks_late is True


# The bell ---------------------------------------------------------------------------------------------------------


def make(user: User, count: int, *, read: bool = False, **fields) -> list[Notification]:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return Notification.objects.bulk_create(
        Notification(
            user=user,
            kind="test.bulk",
            title=f"Bulk {number}",
            read_at=timezone.now() if read else None,
            **fields,
        )
        for number in range(count)
    )


def bell_of(client: Client, url: str = "/") -> str:
    html = client.get(url).content.decode()
    start = html.index('id="notifications-menu"')  # the top bar's (the small screens' comes first, in the sidebar)
    return html[start : html.index("</header>", start)]


def test_bell_shows_the_unread_count_hidden_at_zero_and_9_plus_above_nine(tenant_a: Tenant, tenant_b: Tenant) -> None:
    client = tenant_a.client("owner")
    make(tenant_b.owner, 4)  # someone else's never count
    make(tenant_a.owner, 3, read=True)
    assert "badge-notification" not in bell_of(client)
    make(tenant_a.owner, 3)
    bell = bell_of(client)
    assert 'data-unread="3">3</span>' in bell
    assert "Notifications: 3 unread" in bell
    make(tenant_a.owner, 8)
    assert 'data-unread="11">9+</span>' in bell_of(client)


def test_bell_lists_the_latest_five_with_unread_dots(tenant_a: Tenant) -> None:
    make(tenant_a.owner, 2, read=True)
    newest = make(tenant_a.owner, 6)
    bell = bell_of(tenant_a.client("owner"))
    assert bell.count("console-bell-item") == 5
    assert bell.count("is-unread") == 5
    assert reverse("notification_open", args=[newest[-1].pk]) in bell
    assert "See all" in bell and "Mark all as read" in bell


@pytest.mark.parametrize("url", ["/", "/o/studio-a/", reverse("notifications")])
def test_bell_costs_the_same_queries_whatever_the_number_of_notifications(tenant_a: Tenant, url: str) -> None:
    client = tenant_a.client("owner")
    make(tenant_a.owner, 2)
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    make(tenant_a.owner, 40)
    make(tenant_a.owner, 40, read=True)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)
    bell_queries = [q for q in many.captured_queries if "tenants_notification" in q["sql"]]
    assert len(bell_queries) == (1 if url != reverse("notifications") else 4)  # the page: count, rows, unread


# The page ----------------------------------------------------------------------------------------------------------


def list_card(html: str) -> str:
    """The page's list (the bell in the top bar lists the latest too)."""
    return html[html.index('id="notifications"') :]


def test_page_lists_only_the_users_own_newest_first_and_filters_unread(tenant_a: Tenant, tenant_b: Tenant) -> None:
    make(tenant_b.owner, 1)
    Notification.objects.filter(user=tenant_b.owner).update(title="Rival secret")
    make(tenant_a.owner, 1, read=True)
    Notification.objects.create(user=tenant_a.owner, kind="k", title="Newest unread", body="Line one\nLine two")
    client = tenant_a.client("owner")
    page = client.get(reverse("notifications")).content.decode()
    assert "Rival secret" not in page
    assert page.index("Newest unread") < page.index("Bulk 0")
    assert "Line one<br>Line two" in page
    unread = list_card(client.get(reverse("notifications"), {"show": "unread"}).content.decode())
    assert "Newest unread" in unread and "Bulk 0" not in unread


def test_page_paginates(tenant_a: Tenant) -> None:
    make(tenant_a.owner, 30)
    client = tenant_a.client("owner")
    first = client.get(reverse("notifications")).content.decode()
    assert first.count('class="list-group-item console-notification') == 25
    second = client.get(reverse("notifications"), {"page": 2}).content.decode()
    assert second.count('class="list-group-item console-notification') == 5


def test_htmx_request_gets_only_the_list_card(tenant_a: Tenant) -> None:
    make(tenant_a.owner, 1)
    html = (
        tenant_a.client("owner")
        .get(reverse("notifications"), {"show": "unread"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="notifications")
        .content.decode()
    )
    assert html.lstrip().startswith('<div class="card" id="notifications"')
    assert "Bulk 0" in html


def test_signed_out_visitors_are_sent_to_sign_in(tenant_a: Tenant) -> None:
    note = make(tenant_a.owner, 1)[0]
    for url in (reverse("notifications"), reverse("notification_open", args=[note.pk])):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Client().post(reverse("notifications_read_all")).status_code == 302
    note.refresh_from_db()
    assert note.read_at is None


def test_opening_marks_read_and_goes_where_it_leads(tenant_a: Tenant) -> None:
    note = Notification.objects.create(user=tenant_a.owner, kind="k", title="T", url="/o/studio-a/main/")
    response = tenant_a.client("owner").get(reverse("notification_open", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == "/o/studio-a/main/"
    note.refresh_from_db()
    first_read = note.read_at
    assert first_read is not None
    tenant_a.client("owner").get(reverse("notification_open", args=[note.pk]))
    note.refresh_from_db()
    assert note.read_at == first_read


def test_opening_one_without_a_link_shows_it_on_the_page(tenant_a: Tenant) -> None:
    note = Notification.objects.create(user=tenant_a.owner, kind="k", title="T")
    response = tenant_a.client("owner").get(reverse("notification_open", args=[note.pk]))
    assert response["Location"] == f"{reverse('notifications')}#notification-{note.pk}"


@pytest.mark.parametrize(
    "url", ["https://evil.example/", "//evil.example/path", "/\\evil.example", "javascript:alert(1)", "http:/x"]
)
def test_opening_never_redirects_off_the_console(tenant_a: Tenant, url: str) -> None:
    note = Notification.objects.create(user=tenant_a.owner, kind="k", title="T", url=url)  # past notify's check
    response = tenant_a.client("owner").get(reverse("notification_open", args=[note.pk]))
    assert response["Location"] == f"{reverse('notifications')}#notification-{note.pk}"


def test_another_users_notification_is_404_and_stays_unread(tenant_a: Tenant, tenant_b: Tenant) -> None:
    theirs = Notification.objects.create(user=tenant_a.owner, kind="k", title="Owner only", url="/o/studio-a/")
    for other in (tenant_a.client("member"), tenant_b.client("owner")):  # same organisation, and another
        assert other.get(reverse("notification_open", args=[theirs.pk])).status_code == 404
        assert "Owner only" not in other.get(reverse("notifications")).content.decode()
    assert tenant_a.client("owner").get("/notifications/00000000-0000-4000-8000-000000000000/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_as_read_is_a_post_of_the_users_own(tenant_a: Tenant, tenant_b: Tenant) -> None:
    make(tenant_a.owner, 3)
    make(tenant_b.owner, 2)
    client = tenant_a.client("owner")
    assert client.get(reverse("notifications_read_all")).status_code == 405
    response = client.post(reverse("notifications_read_all"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("notifications")
    assert "All notifications are marked as read." in response.content.decode()
    assert not Notification.objects.unread().filter(user=tenant_a.owner).exists()
    assert Notification.objects.unread().filter(user=tenant_b.owner).count() == 2


def test_mark_all_as_read_from_the_bell_swaps_both_bells(tenant_a: Tenant) -> None:
    make(tenant_a.owner, 3)
    html = (
        tenant_a.client("owner")
        .post(reverse("notifications_read_all"), HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/")
        .content.decode()
    )
    assert html.count('hx-swap-oob="outerHTML"') == 2
    assert 'id="notifications-menu"' in html and 'id="notifications-menu-mobile"' in html
    assert "badge-notification" not in html


def test_the_notifications_pages_keep_the_unread_tab_in_their_links(tenant_a: Tenant, tenant_b: Tenant) -> None:
    make(tenant_a.owner, 30)
    make(tenant_b.owner, 5)
    client = tenant_a.client("owner")
    first = client.get("/notifications/?show=unread", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1\u201325 of 30" in first
    assert 'href="?show=unread&amp;page=2" rel="next"' in first
    second = client.get("/notifications/?show=unread&page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "26\u201330 of 30" in second and 'href="?show=unread&amp;page=1" rel="prev"' in second
