"""A server's operations through its pages: each one-click operation, change type with confirm and with revert (the
server driven between steps as the tasks do), rebuild, rename, lock; refusals as messages that change nothing;
viewers and visiting operators refused; the suspension rule; delete (in ERROR too) back to the list."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from infra.models import Flavor, ProjectQuota, Server
from infra.providers.base import Status
from tenants.audit import Actor
from tenants.models import AuditEvent, Organization
from tests.infra.engine import activate, drive, small_flavors, small_image
from tests.infra.test_server_detail_pages import launch, page
from tests.infra.test_server_detail_pages import sandbox as sandbox


@pytest.fixture
def server(sandbox, tenant_a) -> Server:
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    return launch(tenant_a, sandbox)


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def post_op(client, tenant, server: Server, op: str, **data):
    return client.post(page(tenant, server, f"do/{op}/"), data)


def test_stop_then_start_through_the_page(server, tenant_a):
    client = tenant_a.client("member")
    response = post_op(client, tenant_a, server, "stop")
    assert response.status_code == 302 and response["Location"] == page(tenant_a, server)
    assert said(response) == ["Stopping web-1."]
    assert drive(server).status == Status.STOPPED
    response = post_op(client, tenant_a, server, "start", next=page(tenant_a, server, "network/"))
    assert response["Location"] == page(tenant_a, server, "network/")  # back to the tab it came from
    assert drive(server).status == Status.ACTIVE
    assert AuditEvent.objects.filter(target_id=str(server.pk), action__in=["server.stop", "server.start"]).count() == 2


def test_a_next_outside_the_servers_pages_is_ignored(server, tenant_a):
    response = post_op(tenant_a.client("member"), tenant_a, server, "reboot", next="https://evil.example.com/")
    assert response["Location"] == page(tenant_a, server)


def test_the_reloaded_headers_forms_go_back_to_the_tab_that_holds_it(server, tenant_a):
    client = tenant_a.client("member")
    html = client.get(
        page(tenant_a, server, "header/"),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver" + page(tenant_a, server, "network/")},
    ).content.decode()
    assert f'name="next" value="{page(tenant_a, server, "network/")}"' in html
    response = post_op(client, tenant_a, server, "reboot", next=page(tenant_a, server, "header/"))
    assert response["Location"] == page(tenant_a, server)  # never to the fragment's own URL


def test_reboot_hard_reboot_lock_and_unlock(server, tenant_a):
    client = tenant_a.client("member")
    post_op(client, tenant_a, server, "reboot")
    server.refresh_from_db()
    assert server.status == Status.REBOOTING and server.pending.get("hard") is False
    drive(server)
    post_op(client, tenant_a, server, "reboot_hard")
    server.refresh_from_db()
    assert server.pending.get("hard") is True
    drive(server)
    post_op(client, tenant_a, server, "lock")
    server.refresh_from_db()
    assert server.locked
    html = client.get(page(tenant_a, server)).content.decode()
    assert (
        "Locked: every operation but unlock is refused" in html and "The instance is locked: unlock it first." in html
    )
    response = post_op(client, tenant_a, server, "stop")
    assert said(response) == ["web-1 is locked: unlock it first."]
    assert Server.objects.get(pk=server.pk).status == Status.ACTIVE  # nothing changed
    post_op(client, tenant_a, server, "unlock")
    assert not Server.objects.get(pk=server.pk).locked


def test_a_refused_operation_is_a_message_and_changes_nothing(server, tenant_a):
    response = post_op(tenant_a.client("member"), tenant_a, server, "start")
    assert response.status_code == 302
    assert said(response) == ["Cannot start web-1 while it is running."]
    server.refresh_from_db()
    assert server.status == Status.ACTIVE and not server.pending


def test_an_unknown_operation_is_not_found(server, tenant_a):
    assert post_op(tenant_a.client("member"), tenant_a, server, "shelve").status_code == 404
    assert tenant_a.client("member").get(page(tenant_a, server, "do/stop/")).status_code == 405


def test_viewers_and_visiting_operators_cannot_operate(server, tenant_a, operator_client):
    for client in (tenant_a.client("viewer"), operator_client):
        for op in ("stop", "delete", "lock"):
            assert post_op(client, tenant_a, server, op).status_code == 403
        assert client.post(page(tenant_a, server, "rename/"), {"name": "x"}).status_code == 403
        assert client.post(page(tenant_a, server, "console-log/")).status_code == 403
    server.refresh_from_db()
    assert server.status == Status.ACTIVE and server.name == "web-1" and not server.locked


def test_delete_goes_back_to_the_list_and_works_in_error(server, sandbox, tenant_a):
    server.transition(Status.ERROR, error_message="Could not create the instance: boom.")
    response = post_op(tenant_a.client("member"), tenant_a, server, "delete")
    assert response.status_code == 302 and response["Location"] == f"/o/{tenant_a.slug}/main/servers/"
    assert "Deleting web-1." in said(response)[0]
    assert drive(server).status == Status.DELETED


def test_a_suspended_organisation_may_stop_and_delete_but_not_start_or_change(server, sandbox, tenant_a):
    Organization.objects.filter(pk=tenant_a.organization.pk).update(suspended_at=timezone.now())
    client = tenant_a.client("member")
    response = post_op(client, tenant_a, server, "reboot")
    assert "is suspended" in said(response)[-1]
    assert Server.objects.get(pk=server.pk).status == Status.ACTIVE
    _, bigger = small_flavors(sandbox)
    response = client.post(page(tenant_a, server, "resize/"), {"flavor": bigger.pk})
    assert response.status_code == 400 and "is suspended" in response.content.decode()
    html = client.get(page(tenant_a, server, "resize/")).content.decode()
    assert "data-refusal" in html and "is suspended" in html
    post_op(client, tenant_a, server, "stop")
    assert drive(server).status == Status.STOPPED
    response = post_op(client, tenant_a, server, "start")
    assert "is suspended" in said(response)[-1]
    assert Server.objects.get(pk=server.pk).status == Status.STOPPED
    post_op(client, tenant_a, server, "delete")
    assert drive(server).status == Status.DELETED


def test_the_change_type_page_marks_the_current_type_and_disables_smaller_disks_and_over_quota(
    server, sandbox, tenant_a
):
    html = tenant_a.client("member").get(page(tenant_a, server, "resize/")).content.decode()
    assert "Current" in html and server.flavor.name in html
    smaller_disk = Flavor.objects.filter(region=sandbox, disk_gb__lt=server.flavor.disk_gb, disk_gb__gt=0).first()
    if smaller_disk is not None:
        assert "disks cannot shrink" in html
    biggest = Flavor.objects.filter(region=sandbox, deleted_at__isnull=True).order_by("-vcpus").first()
    ProjectQuota.objects.update_or_create(
        project=tenant_a.project, region=sandbox, defaults={"cores": server.flavor.vcpus}
    )
    html = tenant_a.client("member").get(page(tenant_a, server, "resize/")).content.decode()
    assert "short" in html  # the exact shortfall of vCPUs for the larger types
    response = tenant_a.client("member").post(page(tenant_a, server, "resize/"), {"flavor": biggest.pk})
    assert response.status_code == 400 and "Not enough quota" in response.content.decode()
    assert Server.objects.get(pk=server.pk).status == Status.ACTIVE


def test_change_type_then_confirm_through_the_pages(server, sandbox, tenant_a):
    _, bigger = small_flavors(sandbox)
    client = tenant_a.client("member")
    response = client.post(page(tenant_a, server, "resize/"), {"flavor": bigger.pk})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert drive(server).status == Status.VERIFY_RESIZE
    html = client.get(page(tenant_a, server)).content.decode()
    assert "Confirm the new type or revert" in html
    assert "/do/confirm_resize/" in html and "/do/revert_resize/" in html
    post_op(client, tenant_a, server, "confirm_resize")
    assert drive(server).status == Status.ACTIVE and server.flavor_id == bigger.pk
    assert "Confirm the new type or revert" not in client.get(page(tenant_a, server)).content.decode()


def test_change_type_then_revert_through_the_pages(server, sandbox, tenant_a):
    small, bigger = small_flavors(sandbox)
    client = tenant_a.client("member")
    client.post(page(tenant_a, server, "resize/"), {"flavor": bigger.pk})
    assert drive(server).status == Status.VERIFY_RESIZE
    post_op(client, tenant_a, server, "revert_resize")
    assert drive(server).status == Status.ACTIVE and server.flavor_id == small.pk


def test_change_type_needs_a_choice_and_an_offered_type(server, tenant_a, tenant_b, sandbox):
    client = tenant_a.client("member")
    response = client.post(page(tenant_a, server, "resize/"), {})
    assert response.status_code == 400 and "Choose an instance type." in response.content.decode()
    response = client.post(page(tenant_a, server, "resize/"), {"flavor": server.flavor_id})
    assert response.status_code == 400 and "already has the type" in response.content.decode()


def test_rebuild_asks_for_the_name_and_rebuilds_from_the_image(server, sandbox, tenant_a):
    client = tenant_a.client("member")
    image = small_image(sandbox, server.flavor)
    html = client.get(page(tenant_a, server, "rebuild/")).content.decode()
    assert image.display_name in html and "erases the disk" in html
    response = client.post(page(tenant_a, server, "rebuild/"), {"image": image.pk, "confirm_name": "wrong"})
    assert response.status_code == 400 and "This is not the instance&#x27;s name" in response.content.decode()
    assert Server.objects.get(pk=server.pk).status == Status.ACTIVE
    response = client.post(page(tenant_a, server, "rebuild/"), {"image": image.pk, "confirm_name": "web-1"})
    assert response.status_code == 302
    server.refresh_from_db()
    assert server.status == Status.REBUILDING
    assert drive(server).status == Status.ACTIVE


def test_rename_checks_the_name_and_renames(server, tenant_a):
    client = tenant_a.client("member")
    response = client.post(page(tenant_a, server, "rename/"), {"name": "bad name!"})
    assert response.status_code == 400 and "A name has 1 to 63 letters" in response.content.decode()
    response = client.post(page(tenant_a, server, "rename/"), {"name": "api-1"})
    assert response.status_code == 302
    assert Server.objects.get(pk=server.pk).name == "api-1"


def test_an_admin_operates_a_server_a_member_made(server, tenant_a):
    post_op(tenant_a.client("admin"), tenant_a, server, "stop")
    assert drive(server).status == Status.STOPPED
