"""Per-user language and time zone: the profile page, the middleware that applies them, the language menu."""

from __future__ import annotations

import zoneinfo

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenants.models import User
from tenants.views.account import time_zone_names

pytestmark = pytest.mark.django_db


def html_lang(response: object) -> str:
    return response.content.decode().split('<html lang="', 1)[1].split('"', 1)[0]


# --- The profile page -------------------------------------------------------------------------------------------------


def test_profile_page_shows_the_current_values(user, user_client):
    user.time_zone = "Europe/Berlin"
    user.save()
    response = user_client.get(reverse("account_profile"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="Player One"' in body
    assert '<option value="Europe/Berlin" selected>' in body
    assert "Follow the browser" in body
    assert user.email in body


def test_profile_saves_name_language_and_time_zone(user, user_client):
    response = user_client.post(
        reverse("account_profile"), {"name": "Kim Haneul", "language": "en", "time_zone": "America/New_York"}
    )
    assert response["Location"] == reverse("account_profile")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    user.refresh_from_db()
    assert (user.name, user.language, user.time_zone) == ("Kim Haneul", "en", "America/New_York")

    page = user_client.get(reverse("account_profile"), HTTP_ACCEPT_LANGUAGE="ko")
    assert html_lang(page) == "en"
    assert "Your profile has been saved." in page.content.decode()


def test_profile_can_go_back_to_the_defaults(user, user_client):
    user.language, user.time_zone = "en", "Europe/Berlin"
    user.save()
    user_client.post(reverse("account_profile"), {"name": "", "language": "", "time_zone": ""})
    user.refresh_from_db()
    assert (user.language, user.time_zone) == ("", "")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "utc+9"])
def test_profile_refuses_an_unknown_time_zone(user, user_client, zone):
    response = user_client.post(
        reverse("account_profile"), {"name": "X", "language": "", "time_zone": zone}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    user.refresh_from_db()
    assert user.time_zone == ""


def test_profile_refuses_an_unknown_language(user, user_client):
    response = user_client.post(reverse("account_profile"), {"name": "X", "language": "xx", "time_zone": ""})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.language == ""


def test_time_zone_choices_are_the_systems_zones():
    names = time_zone_names()
    assert "Asia/Seoul" in names and "UTC" in names
    assert list(names) == sorted(zoneinfo.available_timezones())


def test_profile_needs_a_signed_in_user(client):
    response = client.get(reverse("account_profile"))
    assert response["Location"].startswith(reverse("account_login"))


# --- The middleware ---------------------------------------------------------------------------------------------------


def test_users_language_wins_over_the_browsers(user, user_client):
    user.language = "en"
    user.save()
    assert html_lang(user_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="ko")) == "en"
    user.language = "ko"
    user.save()
    assert html_lang(user_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en")) == "ko"


def test_without_a_choice_the_browser_decides(user_client):
    assert html_lang(user_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en")) == "en"
    assert html_lang(user_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="ko")) == "ko"


def test_users_time_zone_is_used_on_pages(user, user_client):
    user.time_zone = "America/New_York"
    user.save()
    body = user_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Times are shown in America/New_York" in body


def test_without_a_time_zone_the_console_default_is_used(user_client):
    body = user_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Times are shown in {settings.TIME_ZONE}" in body


def test_a_users_time_zone_does_not_leak_to_the_next_request(user, user_client, client):
    user.time_zone = "America/New_York"
    user.save()
    user_client.get(reverse("dashboard"))
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE
    body = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "America/New_York" not in body


def test_an_unknown_stored_time_zone_falls_back_to_the_default(user, user_client):
    User.objects.filter(pk=user.pk).update(time_zone="Nowhere/Special")
    body = user_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Times are shown in {settings.TIME_ZONE}" in body


# --- The language menu ------------------------------------------------------------------------------------------------


def test_language_menu_posts_to_our_view(user_client):
    body = user_client.get(reverse("dashboard")).content.decode()
    assert f'action="{reverse("account_set_language")}"' in body
    assert f'action="{reverse("set_language")}"' not in body


def test_language_menu_saves_the_choice_on_the_account(user, user_client):
    response = user_client.post(reverse("account_set_language"), {"language": "en", "next": "/o/x/"})
    assert response.status_code == 302
    assert response["Location"] == "/o/x/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    user.refresh_from_db()
    assert user.language == "en"
    # …and it follows the user to another browser.
    other = Client()
    other.force_login(user)
    assert html_lang(other.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="ko")) == "en"


def test_language_menu_ignores_unknown_languages(user, user_client):
    user_client.post(reverse("account_set_language"), {"language": "xx", "next": "/"})
    user.refresh_from_db()
    assert user.language == ""


def test_language_menu_works_for_visitors(client):
    response = client.post(reverse("account_set_language"), {"language": "en", "next": "/accounts/login/"})
    assert response["Location"] == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_language_menu_refuses_get(client):
    assert client.get(reverse("account_set_language")).status_code == 405


def test_sign_in_page_language_buttons_post_to_our_view(client):
    body = client.get(reverse("account_login")).content.decode()
    assert f'action="{reverse("account_set_language")}"' in body
