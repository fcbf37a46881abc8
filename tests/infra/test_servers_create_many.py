"""Launching several servers of one kind at once (`create_servers`), and cloud-init user data as cloud-init reads it:
all or none, names from the pattern, the quota counted for all of them, every refusal changes nothing."""

from __future__ import annotations

import pytest

from infra.actions import servers as actions
from infra.models import ProjectQuota, Resource, Server
from infra.providers.base import Status
from infra.quotas import OverQuota
from tenants.audit import Actor
from tenants.models import AuditEvent
from tenants.policy import ActionError
from tests.infra.engine import activate, sandbox_region, small_flavors, small_image


@pytest.fixture
def sandbox(db):
    return sandbox_region()


@pytest.fixture
def launch(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    small, _ = small_flavors(sandbox)
    image = small_image(sandbox, small)

    def go(name: str = "web", count: int = 1, **kwargs):
        return actions.create_servers(
            actor=Actor(tenant_a.member),
            project=tenant_a.project,
            region=sandbox,
            name=name,
            flavor=small,
            image=image,
            count=count,
            **kwargs,
        )

    return go


def test_several_servers_get_numbered_names(launch):
    servers = launch("web", 3)
    assert [s.name for s in servers] == ["web-1", "web-2", "web-3"]
    assert {s.status for s in servers} == {Status.PENDING}
    assert AuditEvent.objects.filter(action="server.create").count() == 3


def test_a_placeholder_in_the_name_takes_the_number(launch):
    assert [s.name for s in launch("game-{n}-eu", 2)] == ["game-1-eu", "game-2-eu"]


def test_one_server_keeps_its_name_as_typed(launch):
    assert [s.name for s in launch("lobby", 1)] == ["lobby"]


@pytest.mark.parametrize("count", [0, 21, -1])
def test_a_count_outside_1_to_20_is_refused(launch, count):
    with pytest.raises(ActionError, match="between 1 and 20"):
        launch("web", count)
    assert not Server.objects.exists()


def test_a_pattern_that_makes_a_bad_host_name_is_refused(launch):
    with pytest.raises(ActionError, match="letters, digits"):
        launch("-{n}", 2)
    assert not Server.objects.exists()


def test_the_quota_counts_every_server_of_the_launch(launch, sandbox, tenant_a):
    ProjectQuota.objects.update_or_create(
        project=tenant_a.project, region=sandbox, defaults={Resource.INSTANCES.value: 2}
    )
    with pytest.raises(OverQuota) as refused:
        launch("web", 3)
    assert "this needs 3, 0 of 2 are in use, so it is 1 short" in refused.value.message
    assert not Server.objects.exists()
    assert len(launch("web", 2)) == 2


@pytest.mark.parametrize(
    "user_data",
    [
        "#cloud-config\npackages: [nginx]\n",
        "#!/bin/sh\necho ready > /tmp/ready\n",
        "#include\nhttps://example.com/init\n",
        "Content-Type: multipart/mixed; boundary=x\n\n--x--\n",
        "",
    ],
)
def test_user_data_cloud_init_reads_is_taken(launch, user_data):
    (server,) = launch("web", 1, user_data=user_data)
    assert server.user_data == user_data


def test_windows_line_ends_in_user_data_become_unix_ones(launch):
    (server,) = launch("web", 1, user_data="#cloud-config\r\nruncmd:\r\n  - echo hi\r\n")
    assert server.user_data == "#cloud-config\nruncmd:\n  - echo hi\n"


@pytest.mark.parametrize(
    ("user_data", "message"),
    [
        ("apt-get install nginx\n", "must start with #cloud-config"),
        ("#cloud-config\npackages: [nginx\n", "not valid YAML \\(line"),
        ("#cloud-config\n- just\n- a list\n", "YAML mapping"),
        ("#!/bin/sh\n" + "x" * 65536, "64 KiB"),
        ("#!/bin/sh\n\x00", "must be text"),
    ],
)
def test_user_data_cloud_init_cannot_read_is_refused_with_what_to_fix(launch, user_data, message):
    with pytest.raises(ActionError, match=message):
        launch("web", 1, user_data=user_data)
    assert not Server.objects.exists()
