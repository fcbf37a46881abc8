"""Fixtures every test may use: users, two organisations (so every leak shows), the test servers and mail."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client, TransactionTestCase

from tenants.models import Membership, Organization, Project, Role, User
from tests.harness.mailbox import Mailbox
from tests.harness.processes import (
    OUTPUT_DIR,
    ManagedProcess,
    child_environment,
    start_asgi_server,
    start_celery_worker,
)

PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config: pytest.Config) -> None:
    """Compile translation catalogues that are missing or older than their .po (as `make messages` does)."""
    for po in (Path(__file__).resolve().parent.parent / "locale").glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser journeys run last: Playwright's sync API keeps an event loop running that breaks async tests."""
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(scope="session", autouse=True)
def _clean_test_redis() -> None:
    """Start from empty test Redis databases (broker, results, channel layer, cache): never the development ones."""
    base = settings.REDIS_DB_BASE
    assert base != 0, "tests must not use the development Redis databases"
    for offset in range(4):
        redis.Redis.from_url(f"{settings.REDIS_URL}/{base + offset}").flushdb()


FLUSH_ATTEMPTS = 3


def _end_other_connections() -> int:
    """End every other connection to the test database (the daphne and Celery subprocesses reconnect: health checks
    are on); returns how many were ended."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture(scope="session", autouse=True)
def _flush_outlasts_the_servers_work() -> Iterator[None]:
    """A transactional test ends with a flush (TRUNCATE of every table) while the Celery worker or daphne may still be
    finishing what the test started; PostgreSQL can pick the flush as a deadlock's victim, which left the rows for the
    next test. Retry it, first ending the other connections, and say so on stderr."""
    original = TransactionTestCase._fixture_teardown

    def flush_with_retries(self: TransactionTestCase) -> None:
        for attempt in range(1, FLUSH_ATTEMPTS + 1):
            try:
                return original(self)
            except CommandError as error:
                if attempt == FLUSH_ATTEMPTS:
                    raise
                ended = _end_other_connections()
                print(f"flush failed ({error.__cause__!r}); ended {ended} other connections, retrying", file=sys.stderr)
                time.sleep(0.2 * attempt)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", flush_with_retries)
        yield


@pytest.fixture(autouse=True)
def _no_local_openstack_unless_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Only tests marked `openstack` may reach the local OpenStack through seed_demo (which would otherwise add its
    region and make the demo project's cloud project there): the others run, and leave nothing, without it."""
    if request.node.get_closest_marker("openstack") is None:
        monkeypatch.setenv("HANEUL_OPENSTACK_CLOUDS", str(tmp_path / "no-clouds.yaml"))


def make_user(email: str, *, name: str = "", password: str = PASSWORD, **extra: object) -> User:
    user = User.objects.create_user(email=email, password=password, name=name, **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def user(db: None) -> User:
    return make_user("player.one@example.com", name="Player One")


@pytest.fixture
def user_client(user: User) -> Client:
    """A test client signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client


class Tenant:
    """An organisation with one project and one user per role (owner, admin, member, viewer), for two-tenant tests.

    `tenant.owner`, `tenant.admin`, `tenant.member`, `tenant.viewer` are users; `tenant.client("viewer")` is a test
    client signed in as that user; `tenant.membership("member")` is that user's membership.
    """

    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.organization = Organization.objects.create(name=slug.replace("-", " ").title(), slug=slug)
        self.project = Project.objects.create(organization=self.organization, name="Main", slug="main")
        for role in (Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER):
            user = make_user(f"{role.value}@{slug}.example.com", name=f"{role.label} of {slug}")
            Membership.objects.create(user=user, organization=self.organization, role=role)
            setattr(self, role.value, user)

    def user(self, role: str = "owner") -> User:
        return getattr(self, role)

    def membership(self, role: str = "owner") -> Membership:
        return Membership.objects.get(organization=self.organization, user=self.user(role))

    def client(self, role: str = "owner") -> Client:
        client = Client()
        client.force_login(self.user(role))
        return client

    def url(self, suffix: str = "") -> str:
        """`/o/<org>/<suffix>`, e.g. `tenant.url("-/members/")`."""
        return f"/o/{self.slug}/{suffix}"


@pytest.fixture
def operator(db: None) -> User:
    """A staff user in the operators group."""
    from django.contrib.auth.models import Group

    user = make_user("operator@haneul.example.com", name="Operator", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=settings.OPERATORS_GROUP)[0])
    return user


@pytest.fixture
def operator_client(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    return Tenant("studio-a")


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    return Tenant("studio-b")


@pytest.fixture(scope="session")
def mailbox_dir() -> Path:
    return OUTPUT_DIR / "mail"


@pytest.fixture
def mailbox(mailbox_dir: Path) -> Mailbox:
    """Mail the ASGI server subprocess sends (file-based backend), emptied for each test."""
    box = Mailbox(mailbox_dir)
    box.clear()
    return box


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: None, django_db_blocker, mailbox_dir: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """daphne serving console.asgi on a free port against the test database; yields its base URL."""
    with django_db_blocker.unblock():
        env = child_environment(
            {
                "HANEUL_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "HANEUL_EMAIL_FILE_PATH": str(mailbox_dir),
            }
        )
    server, url = start_asgi_server(env)
    yield url
    server.stop()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None, django_db_blocker) -> Iterator[ManagedProcess]:  # type: ignore[no-untyped-def]
    """A Celery worker subprocess consuming the test queue, on the test database."""
    with django_db_blocker.unblock():
        env = child_environment()
    worker = start_celery_worker(env)
    yield worker
    worker.stop()


def make_api_token(
    user: User, organization: Organization, *, role: str = "owner", days: int | None = 30, name: str = "ci"
) -> tuple[object, str]:
    """An API token of `user` in `organization` made through the action (as the console does): (token, secret)."""
    from datetime import timedelta

    from django.utils import timezone

    from tenants import actions
    from tenants.audit import Actor

    expires_at = timezone.now() + timedelta(days=days) if days is not None else None
    return actions.create_api_token(
        actor=Actor(user), organization=organization, name=name, role=Role(role), expires_at=expires_at
    )


@pytest.fixture
def api_client() -> object:
    """A DRF test client; `api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")` for a token."""
    from rest_framework.test import APIClient

    return APIClient()
