"""Two-factor authentication (allauth.mfa): TOTP enrolment, the login's code step, recovery codes, and the
organisation policy that sends members without an authenticator app to set one up."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.middleware import MFA_EXEMPT_PREFIXES
from tenants.models import Membership, Organization, Role, User
from tests.conftest import PASSWORD, make_user
from tests.tenants.test_accounts import clean_allauth_cache, sign_in  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_allauth_cache")]


def totp_code(secret: str, *, step: int = 0) -> str:
    """The code an authenticator app shows for `secret`, `step` periods from now (allauth's own algorithm)."""
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD + step
    return format_hotp_value(hotp_value(secret, counter))


def enrol_totp(user: User) -> str:
    """Give the user an authenticator app and recovery codes directly; returns the TOTP secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def recovery_codes_of(user: User) -> list[str]:
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return authenticator.wrap().get_unused_codes()


def open_confirmed(client: Client, url: str, **extra: str) -> object:
    """GET an allauth page that asks to confirm the password first (allauth 65 asks even right after signing in)."""
    page = client.get(url, **extra)
    if page.status_code == 302 and page["Location"].startswith(reverse("account_reauthenticate")):
        assert client.post(page["Location"], {"password": PASSWORD}).status_code == 302
        page = client.get(url, **extra)
    return page


def messages_of(response: object) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Enrolment --------------------------------------------------------------------------------------------------------


def test_enrol_totp_then_next_login_asks_for_the_code(user):
    client = Client()
    sign_in(client, user.email)

    page = open_confirmed(client, reverse("mfa_activate_totp"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    body = page.content.decode()
    secret = re.search(r'id="authenticator_secret" type="text" value="([A-Z2-7]+)"', body).group(1)
    assert 'src="data:image/svg+xml;base64,' in body  # the QR code

    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert len(recovery_codes_of(user)) == mfa_settings.RECOVERY_CODE_COUNT
    client.post(reverse("account_logout"))

    # Password alone no longer signs in: the code step follows.
    again = Client()
    response = sign_in(again, user.email)
    assert response["Location"] == reverse("mfa_authenticate")
    assert again.get(reverse("dashboard")).status_code == 302
    code_page = again.get(reverse("mfa_authenticate"), HTTP_ACCEPT_LANGUAGE="en")
    assert "console-entrance" in code_page.content.decode()

    response = again.post(reverse("mfa_authenticate"), {"code": totp_code(secret, step=1)})
    assert response["Location"] == reverse("dashboard")
    assert again.get(reverse("dashboard")).status_code == 200


def test_wrong_enrolment_code_is_refused(user):
    client = Client()
    sign_in(client, user.email)
    open_confirmed(client, reverse("mfa_activate_totp"))
    response = client.post(reverse("mfa_activate_totp"), {"code": "000000"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()


def test_wrong_login_code_is_refused(user):
    secret = enrol_totp(user)
    client = Client()
    sign_in(client, user.email)
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    response = client.post(reverse("mfa_authenticate"), {"code": wrong}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_totp_code_signs_in_only_once(user):
    secret = enrol_totp(user)
    code = totp_code(secret)
    first = Client()
    sign_in(first, user.email)
    assert first.post(reverse("mfa_authenticate"), {"code": code})["Location"] == reverse("dashboard")
    second = Client()
    sign_in(second, user.email)
    assert second.post(reverse("mfa_authenticate"), {"code": code}).status_code == 200


def test_deactivate_totp(user):
    secret = enrol_totp(user)
    client = Client()
    sign_in(client, user.email)
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})

    page = open_confirmed(client, reverse("mfa_deactivate_totp"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "Deactivate Authenticator App" in page.content.decode()
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response["Location"] == reverse("mfa_index")
    assert not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert sign_in(Client(), user.email)["Location"] == reverse("dashboard")  # the password is enough again


def test_two_factor_page_shows_the_state(user, user_client):
    body = user_client.get(reverse("mfa_index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("mfa_activate_totp") in body
    enrol_totp(user)
    body = user_client.get(reverse("mfa_index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("mfa_deactivate_totp") in body
    assert "There are 10 out of 10 recovery codes available." in body


# --- Recovery codes ---------------------------------------------------------------------------------------------------


def test_recovery_code_works_once(user):
    enrol_totp(user)
    code = recovery_codes_of(user)[0]

    first = Client()
    sign_in(first, user.email)
    response = first.post(reverse("mfa_authenticate"), {"code": code})
    assert response["Location"] == reverse("dashboard")
    assert first.get(reverse("dashboard")).status_code == 200
    assert code not in recovery_codes_of(user)

    second = Client()
    sign_in(second, user.email)
    response = second.post(reverse("mfa_authenticate"), {"code": code}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert second.get(reverse("dashboard")).status_code == 302


def test_recovery_codes_view_download_and_regenerate(user):
    secret = enrol_totp(user)
    client = Client()
    sign_in(client, user.email)
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    old_codes = recovery_codes_of(user)

    body = open_confirmed(client, reverse("mfa_view_recovery_codes"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for code in old_codes:
        assert code in body

    download = client.get(reverse("mfa_download_recovery_codes"))
    assert download["Content-Disposition"] == 'attachment; filename="recovery-codes.txt"'
    assert all(code in download.content.decode() for code in old_codes)

    assert client.get(reverse("mfa_generate_recovery_codes")).status_code == 200
    response = client.post(reverse("mfa_generate_recovery_codes"))
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    new_codes = recovery_codes_of(user)
    assert set(new_codes).isdisjoint(old_codes)


# --- Organisation-required MFA ----------------------------------------------------------------------------------------


@pytest.fixture
def strict_tenant(tenant_a):
    tenant_a.organization.require_mfa = True
    tenant_a.organization.save(update_fields=["require_mfa"])
    return tenant_a


def test_member_without_mfa_is_sent_to_set_it_up(strict_tenant):
    response = strict_tenant.client("member").get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    assert messages_of(response) == ["Studio A requires two-factor authentication. Set it up to continue."]


def test_every_console_page_redirects_until_mfa_is_set_up(strict_tenant):
    client = strict_tenant.client("owner")
    project_url = reverse("project_overview", kwargs={"org_slug": "studio-a", "project_slug": "main"})
    for url in (reverse("dashboard"), project_url, "/o/studio-a/", "/no-such-page/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("mfa_activate_totp"), url


def test_member_with_mfa_gets_in(strict_tenant):
    enrol_totp(strict_tenant.member)
    assert strict_tenant.client("member").get(reverse("dashboard")).status_code == 200


def test_the_message_names_every_organisation_that_requires_mfa(strict_tenant, tenant_b):
    tenant_b.organization.require_mfa = True
    tenant_b.organization.save(update_fields=["require_mfa"])
    Membership.objects.create(user=strict_tenant.member, organization=tenant_b.organization, role=Role.VIEWER)
    response = strict_tenant.client("member").get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert messages_of(response) == ["Studio A, Studio B require two-factor authentication. Set it up to continue."]


def test_other_organisations_members_are_not_affected(strict_tenant, tenant_b, user_client):
    assert tenant_b.client("member").get(reverse("dashboard")).status_code == 200
    assert user_client.get(reverse("dashboard")).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/2fa/",
        "/accounts/2fa/totp/activate/",
        "/accounts/email/",
        "/accounts/sessions/",
        "/account/profile/",
        "/healthz",
        "/invitations/some-token/",
    ],
)
def test_account_and_setup_pages_stay_open(strict_tenant, url):
    response = strict_tenant.client("member").get(url)
    assert response.get("Location") != reverse("mfa_activate_totp")


def test_exempt_prefixes_cover_what_the_policy_promises():
    for prefix in ("/accounts/", "/i18n/", "/invitations/", "/healthz"):
        assert prefix in MFA_EXEMPT_PREFIXES


def test_member_can_sign_out_and_switch_language(strict_tenant):
    client = strict_tenant.client("member")
    response = client.post(reverse("account_set_language"), {"language": "en", "next": "/"})
    assert response["Location"] == "/"
    response = client.post(reverse("account_logout"))
    assert response["Location"] != reverse("mfa_activate_totp")
    assert "_auth_user_id" not in client.session


def test_htmx_requests_are_redirected_by_htmx(strict_tenant):
    response = strict_tenant.client("member").get(reverse("dashboard"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("mfa_activate_totp")


def test_enrolling_lets_the_member_in(strict_tenant):
    member = strict_tenant.member
    client = Client()
    sign_in(client, member.email)
    assert client.get(reverse("dashboard"))["Location"] == reverse("mfa_activate_totp")
    page = open_confirmed(client, reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert client.get(reverse("dashboard")).status_code == 200


def test_policy_costs_one_query_and_none_for_anonymous_visitors(strict_tenant):
    enrol_totp(strict_tenant.member)
    client = strict_tenant.client("member")
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("dashboard"))
    policy = [q["sql"] for q in queries.captured_queries if "mfa_authenticator" in q["sql"]]
    assert len(policy) == 1
    assert "EXISTS" in policy[0] and '"require_mfa"' in policy[0].split("WHERE", 1)[1]

    with CaptureQueriesContext(connection) as queries:
        response = Client().get(reverse("dashboard"))
    assert response.status_code == 302
    assert queries.captured_queries == []


def test_operator_visiting_is_not_a_member_and_not_redirected(strict_tenant, operator_client):
    assert operator_client.get(reverse("dashboard")).status_code == 200


def test_new_user_without_organisations_is_not_asked(db):
    user = make_user("fresh@example.com")
    client = Client()
    sign_in(client, user.email)
    assert client.get(reverse("dashboard")).status_code == 200
    assert not Organization.objects.filter(memberships__user=user).exists()
