"""Every page of the console, rendered for a Korean user, shows no English.

The pages are found by walking the URL configuration (`tests/harness/urlwalk.py`): a page added later is walked
the day it lands, and a route whose URL argument the walker has no value for fails (teach `url_values`). Each route
is opened by an anonymous visitor, an owner and an operator (all Korean); every route must render as a page for at
least one of them, or be listed in `NOT_PAGES` with the reason. Pages with content follow: a pending invitation,
audit events, a suspended organisation, an operator's read-only visit, form errors after a bad POST, messages after
an action, the 403/404 pages and the htmx partials of tables.

Two checks per page, on the visible text and the user-facing attributes (title, aria-label, placeholder, alt,
button values, the confirmation texts of `data-confirm…`):
  (a) no text equal to an English msgid that the Korean catalogue translates (a lazy string evaluated at import,
      a translation activated too late, a wrong `override`…);
  (b) no English word outside `ALLOWED_WORDS` (a string never marked for translation).
User data is not checked: the fixtures name people, organisations and projects in Korean; e-mail addresses, URLs,
UUIDs, slugs and codes are taken out of the text; an element marked `translate="no"` or with a `lang` other than
Korean (the language menu's "English") is skipped, as browsers' translators skip it.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from console.views import server_error
from infra import console_log
from infra.models import CloudProject, Flavor, Image, Keypair, QuotaRequest, Region, Server
from infra.providers.base import Health
from tenants import actions
from tenants.audit import Actor, record
from tenants.models import ApiToken, Invitation, Membership, Notification, Organization, Project, Role, User
from tests.conftest import PASSWORD
from tests.harness.processes import OUTPUT_DIR
from tests.harness.urlwalk import Route, build, routes

# The walk is done once per module (fixture `walked`); the tests only read it, but the database must exist.
pytestmark = pytest.mark.django_db

# Routes that are not pages, with the reason. Everything else must render as a page for some visitor.
# (Routes that answer GET with 405, or with something else than HTML -- JSON, CSV, a text file -- are found as such.)
NOT_PAGES: dict[str, str] = {
    "set_language": "POST only; a GET redirects (Django's language switch)",
    # allauth's sign-in-by-code and reauthentication-by-code are not enabled: these answer 404.
    "account_confirm_login_code": "login by code is off",
    "account_request_reauthentication_code": "login by code is off",
    "account_confirm_reauthentication_code": "login by code is off",
    "notification_open": "marks the notification read and redirects to what it is about",
    "operator_catalog": "redirects to the first region's catalog (operator_catalog_flavors is the page)",
}

# Route prefixes that are not pages: the REST API answers JSON (tested in tests/tenants/api/).
NOT_PAGE_PREFIXES: dict[str, str] = {"api/v1/": "the JSON API", "^api/": "the JSON API's 404"}


def is_page_route(route: Route) -> bool:
    return route.name not in NOT_PAGES and not route.route.startswith(tuple(NOT_PAGE_PREFIXES))


# English words a Korean page may show: the product's name, names of other products, and acronyms.
ALLOWED_WORDS = frozenset(
    {
        "Haneul",
        "OpenStack",
        "API",
        "TOTP",
        "MFA",
        "CSV",
        "ID",
        "IP",
        "VPN",
        "URL",
        "QR",
        "UTC",
        "AppKey",
        "HTTPS",
        "JSON",
        "PDF",
        "KRW",
        "USD",
        "CCU",
        "DAU",
        "MAU",
        "Google",
        "Microsoft",
        "Authenticator",  # "Google Authenticator", a product name
        "Authy",
        "1Password",
        "Terraform",
        "Authorization",  # the HTTP header's name
        "App",  # "App Store", a product name
        "Store",
        "Play",  # "Google Play"
        "ms",  # milliseconds: a unit symbol, the same in Korean ("12 ms")
        # units and the names of resources, algorithms and systems, written so in Korean consoles too
        "RAM",
        "vCPU",
        "vCPUs",
        "GiB",
        "MiB",
        "KiB",
        "SSH",
        "OpenSSH",
        "Ed25519",
        "RSA",
        "ECDSA",
        "P",  # the curves P-256, P-384, P-521
        "FIDO",
        "PEM",
        "Ubuntu",
        "Debian",
        "Red",  # "Red Hat"
        "Hat",
        "Rocky",
        "Alma",
        "CentOS",
        "Windows",
        "Linux",
        "macOS",
        "cloud",  # cloud-init, #cloud-config: the tool and its format, named so in Korean consoles too
        "init",
        "config",
        "YAML",
        "MAC",
        "IPv4",
        "IPv6",
    }
)

CHECKED_ATTRIBUTES = frozenset({"title", "aria-label", "aria-description", "placeholder", "alt", "label"})
# Texts that console.js shows: the confirmation dialog's (data-confirm…), labels it swaps in (data-…-label).
TEXT_DATA_ATTRIBUTE = re.compile(r"^data-(?:confirm(?:-detail|-button)?|[a-z-]+-label)$")
# Code (a command line, a header) is not prose: it is the same in every language.
CODE = frozenset({"code", "pre", "kbd", "samp"})
BUTTON_INPUTS = frozenset({"submit", "button", "reset"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})

# Text that is data, not language: e-mail addresses, URLs and paths, UUIDs, TOTP secrets, recovery codes.
DATA = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|https?://\S+"  # URL
    r"|(?<![\w])/[\w./?=&%:-]*"  # path
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # UUID
    r"|\b[A-Z2-7]{16,}\b"  # base32 secret
    r"|\b[a-z0-9]{8}\b(?=[^a-z0-9]|$)"  # recovery code
)
WORD = re.compile(r"[0-9]*[A-Za-z][A-Za-z0-9]*")
# IANA time zone names ("Asia/Seoul", also with spaces for underscores) are identifiers, not English.
TIME_ZONE_NAMES = re.compile(
    "|".join(
        re.escape(name)
        for zone in sorted(zoneinfo.available_timezones(), key=len, reverse=True)
        for name in dict.fromkeys([zone, zone.replace("_", " ")])
    )
)


# Reading a page ------------------------------------------------------------------------------------------------------


@dataclass
class Snippet:
    where: str  # "text in <h1>", "title of <a>"
    text: str


class PageText(HTMLParser):
    """The user-facing text of an HTML page: text nodes and user-facing attributes, outside script and style and
    outside elements marked translate="no" or written in another language."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.snippets: list[Snippet] = []

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        lang = values.get("lang", "")
        skipped = (
            self.skipping
            or tag in ("script", "style")
            or tag in CODE
            or values.get("translate") == "no"
            or (tag != "html" and lang != "" and not lang.startswith("ko"))
        )
        if not skipped:
            for name, value in values.items():
                if name in CHECKED_ATTRIBUTES or TEXT_DATA_ATTRIBUTE.match(name):
                    self.snippets.append(Snippet(f"{name} of <{tag}>", value))
            if tag == "input" and values.get("type", "").lower() in BUTTON_INPUTS and "value" in values:
                self.snippets.append(Snippet("value of <input>", values["value"]))
        if tag not in VOID:
            self.stack.append((tag, skipped))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            where = self.stack[-1][0] if self.stack else "document"
            self.snippets.append(Snippet(f"text in <{where}>", data))


def normalise(text: str) -> str:
    return " ".join(text.split())


def english_msgids() -> set[str]:
    """Every msgid (ours, Django's, allauth's…) whose Korean translation differs from it."""
    catalogue = translation.trans_real.translation("ko")._catalog
    found = set()
    for key, value in catalogue.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if msgid and value and value != msgid and WORD.search(msgid):
            found.add(normalise(msgid))
    return found


@dataclass
class Page:
    label: str  # what was asked, by whom: "GET /o/…/members/ (owner)"
    html: str


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)

    def check(self, page: Page, msgids: set[str], data: list[str]) -> None:
        parser = PageText()
        parser.feed(page.html)
        parser.close()
        for snippet in parser.snippets:
            text = normalise(snippet.text)
            if not text:
                continue
            if text in msgids:
                self.problems.append(f"{page.label}: {snippet.where}: {text!r} is in the catalogue but not translated")
                continue
            cleaned = TIME_ZONE_NAMES.sub(" ", DATA.sub(" ", text))
            for value in data:
                cleaned = cleaned.replace(value, " ")
            words = [word for word in WORD.findall(cleaned) if word not in ALLOWED_WORDS]
            if words:
                self.problems.append(f"{page.label}: {snippet.where}: English {words} in {text!r}")


# The world the pages show --------------------------------------------------------------------------------------------


@dataclass
class World:
    owner: User
    member: User
    operator: User
    mfa_user: User
    organization: Organization
    project: Project
    suspended: Organization
    invitation: Invitation
    invitation_token: str
    region: Region
    openstack_region: Region
    api_token: ApiToken
    quota_request: QuotaRequest
    flavor: Flavor
    image: Image
    keypair: Keypair
    server: Server
    notification: Notification
    confirmation_key: str
    reset_uid: str
    reset_key: str
    data: list[str]  # user data that is not Korean (slugs, tokens): taken out of the text before the checks


def korean_user(email: str, name: str, **extra: object) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, name=name, language="ko", **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def build_world() -> World:
    owner = korean_user("owner@haneul-studio.example.com", "김하늘")
    member = korean_user("member@haneul-studio.example.com", "이바다")
    newcomer = korean_user("newcomer@haneul-studio.example.com", "박새봄")
    operator = korean_user("operator@haneul.example.com", "운영자 최", is_staff=True)
    operator.groups.add(Group.objects.get_or_create(name=settings.OPERATORS_GROUP)[0])
    mfa_user = korean_user("secure@haneul-studio.example.com", "정보안")
    TOTP.activate(mfa_user, generate_totp_secret())
    RecoveryCodes.activate(mfa_user)
    unverified = User.objects.create_user(
        email="unverified@haneul-studio.example.com", password=PASSWORD, name="한미정"
    )
    address = EmailAddress.objects.create(user=unverified, email=unverified.email, verified=False, primary=True)

    actor = Actor(user=owner, ip="127.0.0.1")
    organization = actions.create_organization(actor=actor, name="하늘 스튜디오", slug="haneul-studio")
    project = actions.create_project(
        actor=actor, organization=organization, name="별빛 온라인", slug="starfall", description="우주 게임"
    )
    actions.create_project(actor=actor, organization=organization, name="달빛 퍼즐", slug="moonlight", description="")
    Membership.objects.create(user=member, organization=organization, role=Role.MEMBER)
    Membership.objects.create(user=mfa_user, organization=organization, role=Role.ADMIN)
    actions.change_role(
        actor=actor,
        organization=organization,
        membership_id=Membership.objects.get(user=member, organization=organization).pk,
        role=Role.VIEWER,
    )
    actions.update_project(actor=actor, project=project, name="별빛 온라인", slug="starfall", description="우주 모험")
    invitation = actions.invite_member(
        actor=actor, organization=organization, email="guest@haneul-studio.example.com", role=Role.MEMBER, base_url=""
    )
    invitation_token = "korean-walker-invitation-token"
    Invitation.objects.filter(pk=invitation.pk).update(token_hash=actions._token_hash(invitation_token))
    actions.set_mfa_policy(actor=actor, organization=organization, required=False)
    api_token = ApiToken.objects.create(
        user=owner,
        organization=organization,
        name="배포 자동화",
        prefix="k0r3an00",
        secret_hash="0" * 64,
        role=Role.MEMBER,
        expires_at=timezone.now() + timedelta(days=30),
    )

    # Another organisation, suspended, of which the owner is an admin; it invites the newcomer.
    other_owner = korean_user("owner@byeol-games.example.com", "한별")
    suspended = actions.create_organization(actor=Actor(user=other_owner), name="별 게임즈", slug="byeol-games")
    actions.create_project(
        actor=Actor(user=other_owner), organization=suspended, name="은하 레이서", slug="racer", description=""
    )
    Membership.objects.create(user=owner, organization=suspended, role=Role.ADMIN)
    actions.invite_member(
        actor=Actor(user=other_owner),
        organization=suspended,
        email=newcomer.email,
        role=Role.VIEWER,
        base_url="",
    )
    actions.suspend_organization(actor=Actor(user=operator, operator=True), organization=suspended, reason="요금 미납")
    actions.record_operator_visit(
        actor=Actor(user=operator, operator=True), organization=organization, path="/o/haneul-studio/"
    )

    # Regions (operators' pages): a sandbox region that the project uses, and an OpenStack one that is down.
    region = Region.objects.create(
        slug="seoul-sandbox",
        name="서울 샌드박스",
        provider="sandbox",
        settings={"speed": 2.0, "error_rate": 0.1},
        health=Health.DEGRADED,
        health_latency_ms=12,
        health_checked_at=timezone.now() - timedelta(seconds=20),
    )
    cloud_project = CloudProject.objects.create(
        project=project,
        region=region,
        provider_id="kr-cloud-0001",
        status=CloudProject.Status.ACTIVE,
        network_id="kr-net-0001",
        cidr="10.0.0.0/24",
    )
    openstack_region = Region.objects.create(
        slug="seoul-openstack",
        name="서울 1",
        provider="openstack",
        settings={"cloud": "haneul-seoul", "clouds_file": "/etc/haneul/clouds.yaml"},
        health=Health.DOWN,
        health_message="키스톤 연결 거부",
        health_checked_at=timezone.now() - timedelta(minutes=3),
    )

    # A pending quota increase request of the project, and a rejected one (the requests table, the queue).
    quota_request = QuotaRequest.objects.create(
        project=project,
        region=region,
        resource="cores",
        current_limit=20,
        requested_limit=64,
        reason="월드 보스 이벤트 준비",
        requested_by=owner,
    )
    QuotaRequest.objects.create(
        project=project,
        region=region,
        resource="instances",
        current_limit=10,
        requested_limit=50,
        reason="신규 서버 증설",
        requested_by=owner,
        status=QuotaRequest.Status.REJECTED,
        decided_by=operator,
        decided_at=timezone.now(),
        decision_reason="요금 미납",
    )

    # The region's catalog (one instance type, one image), a key pair of the owner, a notification for the owner.
    flavor = Flavor.objects.create(
        region=region, provider_id="kr-flavor-1", name="g1.small", vcpus=2, ram_mb=4096, disk_gb=40, label="범용"
    )
    image = Image.objects.create(
        region=region,
        provider_id="kr-image-1",
        name="ubuntu-24.04",
        status="active",
        size_bytes=2 * 1024**3,
        min_disk_gb=10,
        os_distro="ubuntu",
        os_version="24.04",
        label="우분투 24.04",
    )
    keypair = Keypair.objects.create(
        project=project,
        user=owner,
        name="노트북",
        public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGe1kAUWK3rP2wgZ2X3mYc1uY6vJbH1qL6p0fNQzKkBz",
        key_type=Keypair.Type.ED25519,
        bits=256,
        fingerprint="SHA256:Y2hlY2tzdW0tb2YtdGhlLWtvcmVhbi13YWxrZXIta2V5",
        comment="",
    )
    # Instances: running (with an address, activity and a console log), in error, waiting for a type change answer,
    # and stopped and locked.
    bigger = Flavor.objects.create(
        region=region, provider_id="kr-flavor-2", name="g1.large", vcpus=4, ram_mb=8192, disk_gb=80, label="범용"
    )

    def server(name: str, status: str, **extra: object) -> Server:
        return Server.objects.create(
            project=project,
            region=region,
            cloud_project=cloud_project,
            name=name,
            provider_id=f"kr-vm-{name}",
            status=status,
            flavor=flavor,
            image=image,
            keypair=keypair,
            keypair_name=keypair.cloud_name,
            created_by=owner,
            launched_at=timezone.now(),
            addresses=[
                {"ip": "10.0.0.11", "version": 4, "kind": "fixed", "network": "kr-net-0001", "mac": "fa:16:3e:00:00:0b"}
            ],
            **extra,
        )

    running = server("lobby-1", "ACTIVE")
    record(actor, "server.create", project=project, target=running, after={"name": running.name})
    record(actor, "server.stop", project=project, target=running, before={"status": "ACTIVE"})
    server("match-2", "ERROR", error_message="호스트를 찾을 수 없습니다.")
    server(
        "match-3",
        "VERIFY_RESIZE",
        pending={"op": "resize", "flavor": str(bigger.pk), "previous_flavor": str(flavor.pk)},
    )
    server("lobby-2", "STOPPED", locked=True)
    server("lobby-3", "BUILDING", pending={"op": "create"})
    console_log._store(
        running.pk,
        console_log.ConsoleLog(text="[    0.000000] 리눅스 부팅\n", lines=50, fetched_at=timezone.now()),
    )

    notification = Notification.objects.create(
        user=owner,
        organization=organization,
        project=project,
        kind="quota_request.approved",
        title="할당량 증설 승인: 인스턴스",
        body="요청하신 할당량이 승인되었습니다.",
        url=f"/o/{organization.slug}/{project.slug}/quotas/",
    )

    return World(
        owner=owner,
        member=member,
        operator=operator,
        mfa_user=mfa_user,
        organization=organization,
        project=project,
        suspended=suspended,
        invitation=invitation,
        invitation_token=invitation_token,
        region=region,
        openstack_region=openstack_region,
        api_token=api_token,
        quota_request=quota_request,
        flavor=flavor,
        image=image,
        keypair=keypair,
        server=running,
        notification=notification,
        confirmation_key=EmailConfirmationHMAC(address).key,
        reset_uid=user_pk_to_url_str(owner),
        reset_key=default_token_generator.make_token(owner),
        data=[
            invitation_token,
            "haneul-studio",
            "byeol-games",
            "starfall",
            "moonlight",
            "racer",
            "new-project",
            "“new”",
            "hnl_k0r3an00",
            "k0r3an00",
            "seoul-sandbox",
            "seoul-openstack",
            "kr-cloud-0001",
            "haneul-seoul",
            "g1.small",
            "ubuntu-24.04",
            "ubuntu",
            keypair.public_key,
            "g1.large",
            "lobby-1",
            "lobby-2",
            "lobby-3",
            "match-2",
            "match-3",
            "kr-net-0001",
            keypair.cloud_name,
            "web-{n}",  # the wizard's example name (a host name)
            "apt-get",  # user data the owner typed, quoted back in the error
        ],
    )


def url_values(world: World, route: Route) -> dict[str, object]:
    """The URL arguments of `route`: a route with an argument not named here fails the walk."""
    values: dict[str, object] = {
        "org_slug": world.organization.slug,
        "project_slug": world.project.slug,
        "membership_id": Membership.objects.get(user=world.member, organization=world.organization).pk,
        "invitation_id": world.invitation.pk,
        "token": world.invitation_token,
        "pk": world.organization.pk,
        "uidb36": world.reset_uid,
        "token_id": world.api_token.pk,
        "region_slug": world.region.slug,
        "request_id": world.quota_request.pk,
        "project_id": world.project.pk,
        "item_id": world.image.pk if "image" in route.name else world.flavor.pk,
        "op": "stop" if route.name == "server_op" else "hide",
        "keypair_id": world.keypair.pk,
        "server_id": world.server.pk,
        "notification_id": world.notification.pk,
    }
    if route.name == "account_confirm_email":
        values["key"] = world.confirmation_key
    elif route.name == "account_reset_password_from_key":
        values["key"] = world.reset_key
    return values


# Visitors ------------------------------------------------------------------------------------------------------------


# A real browser's User-Agent: the sessions page shows it (user data, marked translate="no").
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


def anonymous() -> Client:
    """A visitor whose browser asks for Korean."""
    return Client(HTTP_ACCEPT_LANGUAGE="ko")


def signed_in(user: User) -> Client:
    """A Korean user (language chosen in the profile) whose browser asks for English: the profile must win.

    Signed in through the sign-in form, so that allauth's pages that want a recent sign-in open at once."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_USER_AGENT=BROWSER)
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response
    return client


def is_html(response: object) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


class Walk:
    def __init__(self, world: World) -> None:
        self.world = world
        self.pages: list[Page] = []
        self.rendered: set[str] = set()  # route names rendered as a page (200) by some visitor
        self.post_only: set[str] = set()  # routes that answer GET with 405
        self.data: set[str] = set()  # routes that answer with something else than HTML

    def keep(self, label: str, who: str, response: object) -> None:
        if not is_html(response):
            return
        request = getattr(response, "wsgi_request", None)
        if who != "anonymous" and request is not None and not request.user.is_authenticated:
            return  # the visit signed the user out (allauth's links do): an English browser's page, rightly English
        self.pages.append(Page(f"{label} ({who}, {response.status_code})", response.content.decode()))

    def seen_route(self, response: object) -> None:
        """Count the route of a final 200 answer as covered: as a page (HTML) or as data (JSON, CSV, text)."""
        match = response.resolver_match
        if response.status_code == 200 and match is not None:
            (self.rendered if is_html(response) else self.data).add(match.view_name)

    def get(self, client: Client, who: str, url: str, **headers: str) -> object:
        response = client.get(url, follow=True, **headers)
        self.seen_route(response)
        final = response.request["PATH_INFO"]
        label = f"GET {url}" + (f" → {final}" if final != url.split("?")[0] else "")
        if headers:
            label += " (htmx)"
        self.keep(label, who, response)
        return response

    def post(self, client: Client, who: str, url: str, data: dict[str, object]) -> object:
        response = client.post(url, data, follow=True)
        self.seen_route(response)
        self.keep(f"POST {url} {sorted(data)}", who, response)
        return response


def walk_routes(walk: Walk) -> None:
    """Each route, opened by each visitor with a fresh client (a visit may sign out: allauth's password reset link
    does)."""
    world = walk.world
    users = {"anonymous": None, "owner": world.owner, "operator": world.operator}
    clients: dict[str, Client] = {}

    def client_of(who: str) -> Client:
        client = clients.get(who)
        if client is None or (users[who] is not None and "_auth_user_id" not in client.session):
            client = clients[who] = anonymous() if users[who] is None else signed_in(users[who])
        return client

    for route in routes():
        if not is_page_route(route):
            continue
        url = build(route, url_values(walk.world, route))
        for who in users:
            client = client_of(who)
            response = walk.get(client, who, url)
            match = response.resolver_match
            if response.status_code == 405:
                walk.post_only.add(route.name)
            elif response.status_code == 200 and is_html(response) and match and match.view_name == route.name:
                walk.get(client, who, url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="table")


def walk_content(walk: Walk, visitors: dict[str, Client]) -> None:
    """Pages with something in them that the plain walk does not reach."""
    world = walk.world
    org = world.organization.slug
    owner, guest, operator = visitors["owner"], visitors["anonymous"], visitors["operator"]

    # The suspended organisation (banner) as its admin, and its activity (suspension event).
    walk.get(owner, "owner", f"/o/{world.suspended.slug}/")
    walk.get(owner, "owner", f"/o/{world.suspended.slug}/racer/")
    walk.get(owner, "owner", f"/o/{world.suspended.slug}/-/activity/")
    # An operator's read-only visit of a tenant's pages.
    for suffix in ("", "-/members/", "-/settings/", "-/activity/", "starfall/", "starfall/settings/"):
        walk.get(operator, "operator", f"/o/{org}/{suffix}")
    walk.get(operator, "operator", reverse("operator_organization", kwargs={"pk": world.suspended.pk}))
    walk.get(operator, "operator", reverse("operator_organization_suspend", kwargs={"pk": world.suspended.pk}))
    walk.get(operator, "operator", reverse("operator_organizations") + "?status=suspended&sort=-created_at")
    walk.get(operator, "operator", reverse("operator_organizations") + "?q=zzz-nothing")
    walk.get(operator, "operator", reverse("operator_activity") + "?action=organization.suspend")
    walk.get(owner, "owner", f"/o/{org}/-/activity/?q=zzz-nothing")
    # Regions: an OpenStack region that is down, an empty search, a closed region, the health card alone.
    openstack_region = reverse("operator_region", kwargs={"region_slug": world.openstack_region.slug})
    walk.get(operator, "operator", openstack_region)
    walk.get(operator, "operator", openstack_region, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="region-health")
    walk.get(operator, "operator", reverse("operator_regions") + "?q=zzz-nothing&sort=-health")
    # Quotas: the queue with decided requests, an empty search; a viewer's quotas page (no request form).
    walk.get(operator, "operator", reverse("operator_quota_requests") + "?status=rejected")
    walk.get(operator, "operator", reverse("operator_quota_requests") + "?q=zzz-nothing")

    # Instances: the list filtered and empty-searched, each state's page, the tabs, the forms' errors, the bulk
    # confirmation and its result, the wizard's partials and refusals, a viewer's and an operator's views.
    servers = f"/o/{org}/starfall/servers/"
    by_name = {s.name: s for s in Server.objects.filter(project=world.project)}
    for query in ("?status=error", "?status=in_progress&sort=-name", "?q=zzz-nothing", "?q=10.0.0"):
        walk.get(owner, "owner", servers + query)
    for name in ("match-2", "match-3", "lobby-2", "lobby-3"):
        walk.get(owner, "owner", f"{servers}{by_name[name].pk}/")
    running = f"{servers}{world.server.pk}/"
    walk.get(owner, "owner", servers + f"?row={world.server.pk}", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="table")
    bulk = reverse("servers_bulk", kwargs={"org_slug": org, "project_slug": "starfall"})
    every = [s.pk for s in by_name.values()]
    walk.post(owner, "owner", bulk, {"op": "delete", "ids": every, "next": servers})  # the confirmation
    two = [by_name["lobby-1"].pk, by_name["lobby-2"].pk]
    walk.post(owner, "owner", bulk, {"op": "start", "ids": two, "confirmed": "1", "next": servers})  # skipped ones
    walk.post(owner, "owner", running + "resize/", {})
    walk.post(owner, "owner", running + "rebuild/", {"image": world.image.pk, "confirm": "wrong"})
    walk.post(owner, "owner", running + "rename/", {"name": "-nope-"})
    walk.post(owner, "owner", running + "console-log/", {"lines": "200"})
    walk.post(owner, "owner", running + "do/stop/", {"next": running})
    launch = f"{servers}launch/"
    walk.post(owner, "owner", launch, {"region": world.region.pk, "count": "30", "name": "-", "user_data": "apt-get"})
    for target in ("launch-choices", "launch-flavors", "launch-summary"):
        walk.get(owner, "owner", f"{launch}?region={world.region.pk}&count=3&name=web", HTTP_HX_REQUEST="true",
                 HTTP_HX_TARGET=target)  # fmt: skip
    walk.get(owner, "owner", f"/o/{world.suspended.slug}/racer/servers/launch/")
    walk.get(owner, "owner", f"/o/{world.suspended.slug}/racer/servers/")
    walk.get(operator, "operator", servers)
    walk.get(operator, "operator", running)
    walk.get(operator, "operator", reverse("operator_servers") + "?q=haneul&status=ERROR")
    walk.get(operator, "operator", reverse("operator_servers") + "?q=zzz-nothing")

    # A pending invitation on the dashboard of the person invited.
    newcomer = signed_in(User.objects.get(email="newcomer@haneul-studio.example.com"))
    walk.get(newcomer, "newcomer", "/")
    walk.get(newcomer, "newcomer", "/orgs/new/")
    # Invitation links: for the invited person, anonymous, unknown, revoked.
    walk.get(newcomer, "newcomer", f"/invitations/{world.invitation_token}/")
    walk.get(guest, "anonymous", "/invitations/no-such-token/")
    # A viewer's pages (read-only forms, no buttons) and the 403 page.
    viewer = signed_in(world.member)
    for suffix in (
        "",
        "-/members/",
        "-/settings/",
        "-/activity/",
        "starfall/",
        "starfall/settings/",
        "starfall/quotas/",
        "starfall/servers/",
        f"starfall/servers/{world.server.pk}/",
        f"starfall/servers/{world.server.pk}/console-log/",
    ):
        walk.get(viewer, "viewer", f"/o/{org}/{suffix}")
    # 404 pages, a form sent without its CSRF token (an expired page), the 500 page.
    walk.get(owner, "owner", "/o/no-such-organization/")
    walk.get(guest, "anonymous", "/no-such-page/")
    strict = Client(HTTP_ACCEPT_LANGUAGE="ko", enforce_csrf_checks=True)
    walk.post(strict, "anonymous", reverse("account_login"), {"login": world.owner.email, "password": PASSWORD})
    request = RequestFactory(HTTP_ACCEPT_LANGUAGE="ko").get("/")
    with translation.override("ko"):
        request.user = world.owner
        walk.keep("server error page", "owner", server_error(request))
    # The MFA user: the code step of the sign-in, and the pages of an enrolled user.
    stage = anonymous()
    walk.post(stage, "anonymous", reverse("account_login"), {"login": world.mfa_user.email, "password": PASSWORD})
    walk.post(stage, "anonymous", reverse("mfa_authenticate"), {"code": "000000"})
    secure = Client(HTTP_ACCEPT_LANGUAGE="en")
    secure.force_login(world.mfa_user)
    for name in ("mfa_index", "mfa_reauthenticate"):
        walk.get(secure, "secure", reverse(name))
    walk.post(secure, "secure", reverse("mfa_reauthenticate"), {"code": "000000"})
    walk.post(secure, "secure", reverse("account_reauthenticate"), {"password": PASSWORD})
    for name in ("mfa_view_recovery_codes", "mfa_download_recovery_codes", "mfa_deactivate_totp"):
        walk.get(secure, "secure", reverse(name))
    walk.get(secure, "secure", reverse("mfa_generate_recovery_codes"))
    # The owner sets up an authenticator app (after confirming the password, as allauth asks).
    walk.get(owner, "owner", reverse("mfa_activate_totp"))
    walk.post(owner, "owner", reverse("account_reauthenticate"), {"password": PASSWORD})
    walk.get(owner, "owner", reverse("mfa_activate_totp"))
    # A user without a password (set-password page).
    passwordless = User.objects.create_user(email="nopassword@haneul-studio.example.com", name="무암호", language="ko")
    passwordless.set_unusable_password()
    passwordless.save()
    unusable = Client(HTTP_ACCEPT_LANGUAGE="en")
    unusable.force_login(passwordless)
    walk.get(unusable, "passwordless", reverse("account_set_password"))

    # Form errors after a bad POST.
    walk.post(guest, "anonymous", reverse("account_login"), {"login": world.owner.email, "password": "wrong"})
    walk.post(guest, "anonymous", reverse("account_login"), {"login": "", "password": ""})
    walk.post(
        guest, "anonymous", reverse("account_signup"), {"email": "x@", "password1": "short", "password2": "other"}
    )
    walk.post(guest, "anonymous", reverse("account_reset_password"), {"email": "nobody"})
    walk.post(owner, "owner", f"/o/{org}/-/settings/", {"form": "general", "name": "", "slug": "Bad Slug!"})
    walk.post(owner, "owner", f"/o/{org}/-/settings/", {"form": "delete", "confirm": "wrong"})
    walk.post(owner, "owner", f"/o/{org}/starfall/settings/", {"form": "general", "name": "", "slug": "new"})
    walk.post(owner, "owner", f"/o/{org}/starfall/settings/", {"form": "delete", "confirm": "wrong"})
    walk.post(owner, "owner", f"/o/{org}/-/members/", {"email": "not-an-address", "role": "owner"})
    walk.post(owner, "owner", f"/o/{org}/-/members/", {"email": world.member.email, "role": "member"})
    walk.post(owner, "owner", f"/o/{org}/-/projects/new/", {"name": "", "slug": "starfall"})
    walk.post(owner, "owner", "/orgs/new/", {"name": "", "slug": "-"})
    walk.post(
        owner, "owner", reverse("account_profile"), {"name": "김하늘", "language": "ko", "time_zone": "Mars/Base"}
    )
    walk.post(owner, "owner", reverse("account_change_password"), {"oldpassword": "wrong", "password1": "x"})
    walk.post(owner, "owner", reverse("account_email"), {"action_add": "", "email": "not-an-address"})
    walk.post(owner, "owner", reverse("mfa_activate_totp"), {"code": "123"})
    walk.post(operator, "operator", reverse("operator_organization_suspend", kwargs={"pk": world.organization.pk}), {})
    region = {"region_slug": world.region.slug}
    walk.post(
        operator,
        "operator",
        reverse("operator_region", kwargs=region),
        {"speed": "0", "error_rate": "2", "latency_ms": ""},
    )

    # Messages after an action.
    walk.post(
        owner, "owner", reverse("account_profile"), {"name": "김하늘", "language": "ko", "time_zone": "Asia/Seoul"}
    )
    walk.post(owner, "owner", f"/o/{org}/-/settings/", {"form": "security", "require_mfa": ""})
    walk.post(owner, "owner", f"/o/{org}/-/members/", {"email": "friend@haneul-studio.example.com", "role": "viewer"})
    member_id = Membership.objects.get(user=world.member, organization=world.organization).pk
    walk.post(owner, "owner", f"/o/{org}/-/members/{member_id}/role/", {"role": "member"})
    walk.post(owner, "owner", f"/o/{org}/-/invitations/{world.invitation.pk}/resend/", {})
    walk.post(owner, "owner", f"/o/{org}/-/invitations/{world.invitation.pk}/revoke/", {})
    walk.get(owner, "owner", f"/o/{org}/-/members/")
    walk.get(owner, "owner", f"/o/{org}/-/activity/")
    walk.post(owner, "owner", f"/o/{org}/-/projects/new/", {"name": "새 프로젝트", "slug": "new-project"})
    walk.post(
        operator,
        "operator",
        reverse("operator_organization_resume", kwargs={"pk": world.suspended.pk}),
        {},
    )
    walk.post(operator, "operator", reverse("operator_region_check", kwargs=region), {})
    walk.post(
        operator,
        "operator",
        reverse("operator_region", kwargs=region),
        {"speed": "1", "error_rate": "0.5", "latency_ms": "100", "outage": "on"},
    )
    walk.post(operator, "operator", reverse("operator_region_disable", kwargs=region), {})
    walk.post(operator, "operator", reverse("operator_region_disable", kwargs=region), {})  # already closed
    walk.get(operator, "operator", reverse("operator_activity") + "?action=region.disable")
    walk.post(operator, "operator", reverse("operator_region_enable", kwargs=region), {})


@dataclass
class Result:
    walk: Walk
    routes: list[Route]
    findings: Findings


@pytest.fixture(scope="module")
def walked(django_db_setup: None, django_db_blocker) -> Iterator[Result]:  # type: ignore[no-untyped-def]
    """Build the world, open every page, then roll everything back: one walk shared by this module's tests."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_world()
        walk = Walk(world)
        walk_routes(walk)
        walk_content(
            walk, {"anonymous": anonymous(), "owner": signed_in(world.owner), "operator": signed_in(world.operator)}
        )
        findings = Findings()
        msgids = english_msgids()
        for page in walk.pages:
            findings.check(page, msgids, world.data)
        transaction.set_rollback(True)
    from django.core.cache import cache

    cache.clear()
    yield Result(walk, routes(), findings)


# Tests ---------------------------------------------------------------------------------------------------------------


def test_every_route_is_a_page_some_visitor_sees_or_is_listed_as_not_a_page(walked):
    missing = [
        route.route
        for route in walked.routes
        if is_page_route(route) and route.name not in walked.walk.rendered | walked.walk.post_only | walked.walk.data
    ]
    assert not missing, (
        f"no visitor got these as a page: teach the walker (url_values, walk_content) or NOT_PAGES: {missing}"
    )


def test_no_route_listed_as_not_a_page_is_gone(walked):
    names = {route.name for route in walked.routes}
    assert set(NOT_PAGES) <= names, sorted(set(NOT_PAGES) - names)


def test_the_walk_reached_pages_of_every_kind(walked):
    labels = "\n".join(page.label for page in walked.walk.pages)
    for expected in ("anonymous, 200", "owner, 200", "operator, 200", "404)", "403)", "500)", "(htmx)", "400)"):
        assert expected in labels
    html = "\n".join(page.html for page in walked.walk.pages)
    for content in (
        "alert alert-success",  # a message after an action
        "alert alert-danger",  # a refusal
        "invalid-feedback",  # form errors
        "alert alert-warning console-banner",  # a suspended organisation
        "alert alert-purple console-banner",  # an operator's read-only visit
    ):
        assert content in html, content
    # A pending invitation on the dashboard of the person invited.
    assert any(page.label.startswith("GET / (newcomer") and "별 게임즈" in page.html for page in walked.walk.pages)


def test_no_english_on_korean_pages(walked):
    problems = list(dict.fromkeys(walked.findings.problems))
    report = OUTPUT_DIR / "korean-pages.txt"  # the whole list, for a long failure
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(problems))
    assert not problems, f"{len(problems)} English texts on Korean pages:\n" + "\n".join(problems)
