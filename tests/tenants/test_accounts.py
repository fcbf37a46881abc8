"""Accounts (allauth): sign-up with e-mail verification, sign-in, sign-out, password change and reset, login rate
limiting, active sessions, and the account pages in the console's layouts."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from tenants.models import User
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-passphrase-42"


@pytest.fixture
def clean_allauth_cache() -> Iterator[None]:
    """allauth keeps rate-limit counters and used TOTP codes in the cache (test Redis): drop them afterwards, so
    the next test (which signs in from the same 127.0.0.1) starts with a clean slate."""
    yield
    connection = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    for key in connection.scan_iter(match=f"{settings.KEY_PREFIX}:*allauth*"):
        connection.delete(key)


def sign_in(client: Client, email: str, password: str = PASSWORD, **extra: str) -> object:
    return client.post(reverse("account_login"), {"login": email, "password": password}, **extra)


def link_in(message: mail.EmailMessage, fragment: str) -> str:
    links = [link for link in re.findall(r"https?://[!-~]+", message.body) if fragment in link]
    assert len(links) == 1, message.body
    return links[0].replace("http://testserver", "")


# --- Sign-up, verification, sign-in, sign-out -------------------------------------------------------------------------


def test_sign_up_verify_email_then_sign_in(client, clean_allauth_cache):
    response = client.post(
        reverse("account_signup"),
        {"email": "new.player@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="new.player@example.com")
    assert not EmailAddress.objects.get(user=user).verified

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.player@example.com"]
    assert message.subject.startswith("[Haneul]")
    confirm_url = link_in(message, "/accounts/confirm-email/")

    # Unverified: signing in only sends the user back to check their mail.
    other = Client()
    response = sign_in(other, "new.player@example.com", NEW_PASSWORD)
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in other.session

    page = other.get(confirm_url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "console-entrance" in page.content.decode()
    response = other.post(confirm_url)
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified

    response = sign_in(other, "new.player@example.com", NEW_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert other.get(reverse("dashboard")).status_code == 200


def test_sign_up_refuses_a_short_password(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "short@example.com", "password1": "short", "password2": "short"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.filter(email="short@example.com").exists()


def test_sign_in_and_sign_out(user, clean_allauth_cache):
    client = Client()
    response = sign_in(client, user.email)
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200

    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("account_login"))


def test_wrong_password_is_refused(user, clean_allauth_cache):
    client = Client()
    response = sign_in(client, user.email, "not-the-password", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert "_auth_user_id" not in client.session


# --- Passwords --------------------------------------------------------------------------------------------------------


def test_password_reset_by_mail(client, user, clean_allauth_cache):
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response["Location"] == reverse("account_reset_password_done")
    assert len(mail.outbox) == 1
    reset_url = link_in(mail.outbox[0], "/accounts/password/reset/key/")

    response = client.get(reset_url)  # allauth moves the key out of the URL into the session
    assert response.status_code == 302
    form_url = response["Location"]
    page = client.get(form_url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "console-entrance" in page.content.decode()
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response["Location"] == reverse("account_reset_password_from_key_done")

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert sign_in(Client(), user.email, NEW_PASSWORD)["Location"] == reverse("dashboard")
    assert sign_in(Client(), user.email, PASSWORD).status_code == 200  # the old password no longer works


def test_password_reset_link_works_once(client, user, clean_allauth_cache):
    client.post(reverse("account_reset_password"), {"email": user.email})
    reset_url = link_in(mail.outbox[0], "/accounts/password/reset/key/")
    form_url = client.get(reset_url)["Location"]
    client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = Client()
    response = again.get(reset_url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Bad Token" in response.content.decode() or "invalid" in response.content.decode()


def test_password_reset_for_an_unknown_address_reveals_nothing(client):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("account_reset_password_done")


def test_password_change(user, user_client):
    response = user_client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert user_client.get(reverse("dashboard")).status_code == 200  # still signed in


def test_password_change_needs_the_current_password(user, user_client):
    response = user_client.post(
        reverse("account_change_password"),
        {"oldpassword": "wrong-password", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- Rate limiting ----------------------------------------------------------------------------------------------------


def test_repeated_failed_logins_are_refused_with_a_clear_message(user, clean_allauth_cache):
    per_key = int(settings.ACCOUNT_RATE_LIMITS["login_failed"].split(",")[1].split("/")[0])
    client = Client()
    for _attempt in range(per_key):
        response = sign_in(client, user.email, "not-the-password", HTTP_ACCEPT_LANGUAGE="en")
        assert "not correct" in response.content.decode()

    # The next attempt is refused even with the right password, and says why.
    response = sign_in(client, user.email, PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert "_auth_user_id" not in client.session

    # Another account from the same address is not locked out by it.
    other = make_user("player.two@example.com")
    assert sign_in(Client(), other.email)["Location"] == reverse("dashboard")


# --- Sessions ---------------------------------------------------------------------------------------------------------


def test_sessions_page_lists_each_signed_in_browser(user, clean_allauth_cache):
    laptop, phone = Client(HTTP_USER_AGENT="Laptop browser"), Client(HTTP_USER_AGENT="Phone browser")
    sign_in(laptop, user.email)
    sign_in(phone, user.email)

    body = laptop.get(reverse("usersessions_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Laptop browser" in body and "Phone browser" in body
    assert "This browser" in body
    assert "Sign out everywhere else" in body


def test_sign_out_everywhere_else_ends_the_other_sessions(user, clean_allauth_cache):
    laptop, phone = Client(HTTP_USER_AGENT="Laptop browser"), Client(HTTP_USER_AGENT="Phone browser")
    sign_in(laptop, user.email)
    sign_in(phone, user.email)
    assert UserSession.objects.filter(user=user).count() == 2

    response = laptop.post(reverse("usersessions_list"))
    assert response.status_code == 302

    assert laptop.get(reverse("dashboard")).status_code == 200
    assert phone.get(reverse("dashboard"))["Location"].startswith(reverse("account_login"))
    assert UserSession.objects.filter(user=user).count() == 1


def test_sessions_of_other_users_are_not_listed(user, clean_allauth_cache):
    other = make_user("player.two@example.com")
    sign_in(Client(HTTP_USER_AGENT="Someone else's browser"), other.email)
    client = Client(HTTP_USER_AGENT="My browser")
    sign_in(client, user.email)
    body = client.get(reverse("usersessions_list")).content.decode()
    assert "My browser" in body
    assert "Someone else" not in body


# --- Pages in the console's layouts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name",
    ["account_login", "account_signup", "account_reset_password", "account_reset_password_done"],
)
def test_entrance_pages_use_the_entrance_layout(client, url_name):
    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert "console-entrance" in body
    assert 'class="card card-md"' in body


@pytest.mark.parametrize(
    ("url_name", "heading"),
    [
        ("account_email", "Email Addresses"),
        ("account_change_password", "Change Password"),
        ("mfa_index", "Two-factor authentication"),
        ("usersessions_list", "Sessions"),
        ("account_profile", "Profile"),
    ],
)
def test_account_pages_share_the_shell_and_the_account_tabs(user_client, url_name, heading):
    response = user_client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert "console-sidebar" in body
    assert '<h1 class="page-title">Account settings</h1>' in body
    tabs = body.split('class="account-tabs', 1)[1].split("</nav>", 1)[0]
    for label in ("Profile", "E-mail", "Password", "Two-factor authentication", "Sessions"):
        assert label in tabs
    active = re.findall(r'class="nav-link active" aria-current="page" href="([^"]+)"', tabs)
    assert active == [reverse(url_name)]
    assert heading in body


def test_user_menu_links_to_account_settings(user_client):
    body = user_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{reverse("account_profile")}"' in body
    assert "Account settings" in body
