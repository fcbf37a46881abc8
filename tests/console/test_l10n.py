"""Dates and times in the reader's language and time zone, and e-mail in the recipient's language.

E-mail language, decided once (`tenants/l10n.py`): the recipient's own choice when they have an account and made
one; else the choice of the person who caused the mail (the inviter); else the language of the request.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from tenants.models import AuditEvent, Invitation, Membership, Organization, User
from tests.conftest import PASSWORD, make_user
from tests.tenants.test_accounts import clean_allauth_cache, sign_in  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_allauth_cache")]

# 23:30 UTC on 25 November is 08:30 on 26 November in Seoul: the date shown depends on the reader's time zone too.
MOMENT = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)


@pytest.fixture
def event(tenant_a) -> AuditEvent:
    """An event at MOMENT (rows are append-only: written with their time rather than moved afterwards)."""
    return AuditEvent.objects.create(
        at=MOMENT,
        actor=tenant_a.owner,
        actor_email=tenant_a.owner.email,
        organization=tenant_a.organization,
        action="project.update",
    )


def reader(tenant, *, language: str, time_zone: str = "") -> Client:
    """The tenant's owner with a language (and time zone) chosen in the profile; the browser asks for the other."""
    tenant.owner.language, tenant.owner.time_zone = language, time_zone
    tenant.owner.save()
    return Client(HTTP_ACCEPT_LANGUAGE="en" if language == "ko" else "ko")


def activity_page(tenant, client: Client) -> str:
    client.force_login(tenant.owner)
    return client.get(tenant.url("-/activity/")).content.decode()


def test_a_korean_reader_sees_korean_dates_in_seoul_time(tenant_a, event):
    body = activity_page(tenant_a, reader(tenant_a, language="ko", time_zone="Asia/Seoul"))
    assert "2026년 11월 26일" in body
    assert "08:30:00" in body
    assert "Nov. 26, 2026" not in body


def test_an_english_reader_sees_english_dates_in_their_time_zone(tenant_a, event):
    body = activity_page(tenant_a, reader(tenant_a, language="en", time_zone="America/New_York"))
    assert "Nov. 25, 2026" in body  # 18:30 the day before in New York
    assert "18:30:00" in body
    assert "2026년" not in body


def test_the_back_office_shows_creation_dates_in_the_operators_language(operator, tenant_a):
    type(tenant_a.organization).objects.filter(pk=tenant_a.organization.pk).update(created_at=MOMENT)
    operator.language, operator.time_zone = "ko", "Asia/Seoul"
    operator.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(operator)
    body = client.get(reverse("operator_organizations")).content.decode()
    assert "2026년 11월 26일" in body
    operator.language = "en"
    operator.save()
    assert "Nov. 26, 2026" in client.get(reverse("operator_organizations")).content.decode()


def test_the_profile_tells_the_time_now_in_the_readers_language(tenant_a):
    client = reader(tenant_a, language="ko", time_zone="Asia/Seoul")
    client.force_login(tenant_a.owner)
    body = client.get(reverse("account_profile")).content.decode()
    assert re.search(r"현재 그곳 시각은 \d{4}년 \d{1,2}월 \d{1,2}일 (오전|오후) \d{1,2}:\d{2}입니다", body), (
        "오후 3:04, not 3:04 오후"
    )


def test_the_csv_export_keeps_iso_times(tenant_a, event):
    client = reader(tenant_a, language="ko", time_zone="Asia/Seoul")
    client.force_login(tenant_a.owner)
    csv = b"".join(client.get(tenant_a.url("-/activity.csv")).streaming_content).decode()
    assert "2026-11-26T08:30:00+09:00" in csv
    assert "년" not in csv.split("\n", 2)[1].split(",")[0]


# E-mail ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def invite(tenant, email: str, capture, *, browser: str) -> mail.EmailMessage:
    with capture(execute=True):
        response = tenant.client().post(
            tenant.url("-/members/"), {"email": email, "role": "member"}, HTTP_ACCEPT_LANGUAGE=browser
        )
    assert response.status_code == 302
    return mail.outbox[-1]


def test_an_invitation_to_someone_with_an_account_is_in_their_language(tenant_a, capture):
    make_user("player@example.com", language="en")
    tenant_a.owner.language = "ko"
    tenant_a.owner.save()
    message = invite(tenant_a, "player@example.com", capture, browser="ko")
    assert message.subject.endswith("You are invited to join Studio A")
    assert "invited you to join Studio A" in message.body


def test_an_invitation_gives_the_expiry_in_the_recipients_time_zone(tenant_a, capture):
    make_user("far.away@example.com", language="en", time_zone="America/New_York")
    message = invite(tenant_a, "far.away@example.com", capture, browser="ko")
    invitation = Invitation.objects.get(email="far.away@example.com")
    with translation.override("en"):
        expected = date_format(invitation.expires_at.astimezone(ZoneInfo("America/New_York")), "DATETIME_FORMAT")
    assert f"The link works until {expected}." in message.body


def test_an_invitation_to_a_new_address_is_in_the_inviters_language(tenant_a, capture):
    tenant_a.owner.language = "ko"
    tenant_a.owner.save()
    message = invite(tenant_a, "stranger@example.com", capture, browser="en")
    assert message.subject.endswith("Studio A 조직에 초대되었습니다")
    assert "초대 수락하기:" in message.body
    assert "년" in message.body  # the expiry date, in Korean


def test_an_invitation_follows_the_request_when_nobody_chose_a_language(tenant_a, capture):
    make_user("undecided@example.com")
    message = invite(tenant_a, "undecided@example.com", capture, browser="ko")
    assert "초대 수락하기:" in message.body


def test_a_password_reset_mail_is_in_the_account_holders_language(client):
    make_user("reset.me@example.com", language="ko")
    client.post(reverse("account_reset_password"), {"email": "reset.me@example.com"}, HTTP_ACCEPT_LANGUAGE="en")
    message = mail.outbox[-1]
    assert message.to == ["reset.me@example.com"]
    assert "안녕하세요. Haneul입니다." in message.body
    assert "Hello from Haneul" not in message.body
    assert "password reset" not in message.body


def test_a_sign_up_confirmation_is_in_the_language_the_person_signed_up_in(client):
    client.post(
        reverse("account_signup"),
        {"email": "new.face@example.com", "password1": "a-long-passphrase-42", "password2": "a-long-passphrase-42"},
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    message = mail.outbox[-1]
    assert message.to == ["new.face@example.com"]
    assert "주소를 확인하려면 아래 링크를 여세요:" in message.body
    assert not User.objects.get(email="new.face@example.com").language  # nothing chosen: the request decided


def test_signing_in_greets_in_the_users_language_whatever_the_browser_asks(tenant_a):
    tenant_a.owner.language = "ko"
    tenant_a.owner.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = sign_in(client, tenant_a.owner.email, PASSWORD)
    assert response.status_code == 302
    page = client.get(response["Location"], follow=True).content.decode()
    assert "Successfully signed in" not in page
    assert "로그인" in page


def test_short_dates_read_as_korean_readers_write_them(tenant_a):
    Membership.objects.filter(organization=tenant_a.organization).update(created_at=MOMENT)
    client = reader(tenant_a, language="ko", time_zone="Asia/Seoul")
    client.force_login(tenant_a.owner)
    body = client.get(tenant_a.url("-/members/")).content.decode()
    assert "2026. 11. 26." in body
    tenant_a.owner.language = "en"
    tenant_a.owner.save()
    assert "11/26/2026" in client.get(tenant_a.url("-/members/")).content.decode()


def test_large_counts_are_grouped_in_thousands(operator):
    Organization.objects.bulk_create(Organization(name=f"조직 {n}", slug=f"org-{n}") for n in range(1234))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(operator)
    body = client.get(reverse("operator_organizations")).content.decode()
    assert "of 1,234 rows" in body
