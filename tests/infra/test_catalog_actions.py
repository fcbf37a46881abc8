"""The catalog's curation: the reconciler keeps what operators curate, one default per region, ordering, what tenants
are offered (and what create_server refuses), operator-only actions, audit rows."""

from __future__ import annotations

import pytest

from infra.actions import catalog as actions
from infra.actions.servers import create_server
from infra.catalog import default_flavor, default_image, offered_flavors, offered_images
from infra.models import Flavor, Image, ImageLogo, Region
from infra.providers.sandbox.models import SandboxFlavor, SandboxImage
from infra.reconcile import sync_catalog
from tenants.audit import Actor
from tenants.models import AuditEvent
from tenants.policy import ActionError, NotFound
from tests.infra.engine import activate, sandbox_region, small_flavors, small_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def region() -> Region:
    return sandbox_region("catalog-test")


@pytest.fixture
def op(operator) -> Actor:
    return Actor(operator, operator=True)


def names(queryset) -> list[str]:
    return [item.name for item in queryset]


def flavor(region: Region, name: str) -> Flavor:
    return Flavor.objects.get(region=region, name=name)


def image(region: Region, name: str) -> Image:
    return Image.objects.get(region=region, name=name)


# The reconciler ----------------------------------------------------------------------------------------------------


def test_reconcile_keeps_what_operators_curate(region, op):
    small, ubuntu = flavor(region, "g1.small"), image(region, "Ubuntu 24.04 LTS")
    actions.update_flavor(actor=op, flavor=small, label="General purpose")
    actions.set_visible(actor=op, item=flavor(region, "g1.nano"), visible=False)
    actions.set_position(actor=op, item=small, position=1)
    actions.set_default(actor=op, item=small)
    actions.update_image(
        actor=op, image=ubuntu, label="Ubuntu Server", os_label="Ubuntu", version_label="24.04 LTS", logo="linux"
    )
    actions.set_default(actor=op, item=ubuntu)
    SandboxImage.objects.filter(region_id=region.pk, name="Ubuntu 24.04 LTS").update(os_version="24.04.1")

    sync_catalog(region)

    small.refresh_from_db()
    ubuntu.refresh_from_db()
    assert (small.label, small.position, small.is_default) == ("General purpose", 1, True)
    assert not flavor(region, "g1.nano").visible
    assert ubuntu.os_version == "24.04.1"  # the cloud's field follows the cloud
    assert (ubuntu.label, ubuntu.os_label, ubuntu.version_label, ubuntu.logo, ubuntu.is_default) == (
        "Ubuntu Server",
        "Ubuntu",
        "24.04 LTS",
        "linux",
        True,
    )


def test_an_item_gone_from_the_cloud_is_marked_deleted_and_loses_its_default(region, op):
    small = flavor(region, "g1.small")
    actions.set_default(actor=op, item=small)
    SandboxFlavor.objects.filter(region_id=region.pk, name="g1.small").delete()

    sync_catalog(region)

    small.refresh_from_db()
    assert small.deleted_at is not None and not small.is_default
    assert "g1.small" not in names(offered_flavors(region))
    assert default_flavor(region) is None
    # another may be the default now, and the vanished one cannot be
    actions.set_default(actor=op, item=flavor(region, "g1.medium"))
    with pytest.raises(ActionError, match="deleted in the cloud"):
        actions.set_default(actor=op, item=small)


def test_a_new_item_in_the_cloud_comes_last_and_shown(region, op):
    actions.set_position(actor=op, item=flavor(region, "m1.xlarge"), position=1)
    SandboxFlavor.objects.create(region_id=region.pk, name="z9.new", vcpus=1, ram_mb=512, disk_gb=5)

    sync_catalog(region)

    offered = names(offered_flavors(region))
    assert offered[0] == "m1.xlarge" and offered[-1] == "z9.new"


# What tenants are offered ------------------------------------------------------------------------------------------


def test_hidden_deleted_and_inactive_items_are_not_offered(region, op):
    actions.set_visible(actor=op, item=flavor(region, "g1.micro"), visible=False)
    actions.set_visible(actor=op, item=image(region, "Debian 12"), visible=False)
    SandboxImage.objects.filter(region_id=region.pk, name="Windows Server 2022").delete()
    sync_catalog(region)
    Image.objects.filter(region=region, name="Rocky Linux 9").update(status="queued")

    assert "g1.micro" not in names(offered_flavors(region))
    assert set(names(offered_images(region))) == {"Ubuntu 24.04 LTS", "Ubuntu 22.04 LTS"}


def test_create_server_refuses_a_hidden_flavor_or_image(region, op, tenant_a):
    owner = Actor(tenant_a.owner)
    activate(tenant_a.project, region, owner)
    small, _bigger = small_flavors(region)
    ubuntu = small_image(region, small)
    small = actions.set_visible(actor=op, item=small, visible=False)
    with pytest.raises(ActionError, match="not offered"):
        create_server(actor=owner, project=tenant_a.project, region=region, name="web", flavor=small, image=ubuntu)
    small = actions.set_visible(actor=op, item=small, visible=True)
    ubuntu = actions.set_visible(actor=op, item=ubuntu, visible=False)
    with pytest.raises(ActionError, match="not available"):
        create_server(actor=owner, project=tenant_a.project, region=region, name="web", flavor=small, image=ubuntu)


# One default per region --------------------------------------------------------------------------------------------


def test_setting_another_default_moves_it(region, op):
    actions.set_default(actor=op, item=flavor(region, "g1.small"))
    actions.set_default(actor=op, item=flavor(region, "g1.medium"))
    assert list(Flavor.objects.filter(region=region, is_default=True).values_list("name", flat=True)) == ["g1.medium"]
    assert default_flavor(region).name == "g1.medium"


def test_each_region_has_its_own_default(region, op):
    other = sandbox_region("catalog-other")
    actions.set_default(actor=op, item=image(region, "Debian 12"))
    actions.set_default(actor=op, item=image(other, "Ubuntu 24.04 LTS"))
    assert default_image(region).name == "Debian 12"
    assert default_image(other).name == "Ubuntu 24.04 LTS"


def test_a_hidden_item_cannot_be_default_and_hiding_the_default_clears_it(region, op):
    nano = flavor(region, "g1.nano")
    actions.set_visible(actor=op, item=nano, visible=False)
    with pytest.raises(ActionError, match="hidden from tenants"):
        actions.set_default(actor=op, item=nano)
    small = actions.set_default(actor=op, item=flavor(region, "g1.small"))
    actions.set_visible(actor=op, item=small, visible=False)
    small.refresh_from_db()
    assert not small.is_default and default_flavor(region) is None


def test_an_inactive_image_cannot_be_default(region, op):
    rocky = image(region, "Rocky Linux 9")
    Image.objects.filter(pk=rocky.pk).update(status="queued")
    with pytest.raises(ActionError, match="not active"):
        actions.set_default(actor=op, item=rocky)


# Order -------------------------------------------------------------------------------------------------------------


def test_move_up_and_down_renumbers_the_region(region, op):
    before = names(offered_flavors(region))
    third = flavor(region, before[2])
    actions.move(actor=op, item=third, offset=-1)
    after = names(offered_flavors(region))
    assert after[:3] == [before[0], before[2], before[1]]
    positions = list(
        Flavor.objects.live().filter(region=region).order_by("position").values_list("position", flat=True)
    )
    assert positions == list(range(1, len(before) + 1))
    actions.move(actor=op, item=flavor(region, before[0]), offset=-1)  # at the top already: nothing moves
    assert names(offered_flavors(region))[0] == before[0]
    actions.move(actor=op, item=flavor(region, before[-1]), offset=1)
    assert names(offered_flavors(region))[-1] == before[-1]


def test_set_position_puts_an_item_at_a_place(region, op):
    windows = image(region, "Windows Server 2022")
    actions.set_position(actor=op, item=windows, position=1)
    assert names(offered_images(region))[0] == "Windows Server 2022"
    actions.set_position(actor=op, item=windows, position=99)
    assert names(offered_images(region))[-1] == "Windows Server 2022"
    with pytest.raises(ActionError):
        actions.set_position(actor=op, item=windows, position=0)


# Labels and logos --------------------------------------------------------------------------------------------------


def test_image_logo_is_suggested_from_its_operating_system(region):
    assert image(region, "Ubuntu 24.04 LTS").shown_logo == ImageLogo.UBUNTU
    assert image(region, "Debian 12").shown_logo == ImageLogo.DEBIAN
    assert image(region, "Rocky Linux 9").shown_logo == ImageLogo.REDHAT
    assert image(region, "Windows Server 2022").shown_logo == ImageLogo.WINDOWS
    assert Image(os_distro="").shown_logo == ""
    assert Image(os_distro="arch", logo="debian").shown_logo == "debian"


def test_an_unknown_logo_is_refused(region, op):
    with pytest.raises(ActionError):
        actions.update_image(
            actor=op, image=image(region, "Debian 12"), label="", os_label="", version_label="", logo="amiga"
        )


# Operators only, audited -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_tenant_users_cannot_curate(region, tenant_a, role):
    actor = Actor(tenant_a.user(role))
    small = flavor(region, "g1.small")
    calls = [
        lambda: actions.set_visible(actor=actor, item=small, visible=False),
        lambda: actions.set_visible_many(actor=actor, region=region, kind="flavor", ids=[small.pk], visible=False),
        lambda: actions.move(actor=actor, item=small, offset=-1),
        lambda: actions.set_position(actor=actor, item=small, position=1),
        lambda: actions.set_default(actor=actor, item=small),
        lambda: actions.clear_default(actor=actor, item=small),
        lambda: actions.update_flavor(actor=actor, flavor=small, label="x"),
        lambda: actions.update_image(
            actor=actor, image=image(region, "Debian 12"), label="x", os_label="", version_label="", logo=""
        ),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    small.refresh_from_db()
    assert small.visible and not small.is_default and small.label == ""
    assert not AuditEvent.objects.filter(action__startswith=("flavor.")).exists()


def test_each_change_is_audited_without_an_organisation(region, op, operator):
    small = flavor(region, "g1.small")
    actions.set_visible(actor=op, item=small, visible=False)
    actions.set_visible(actor=op, item=small, visible=True)
    actions.set_visible(actor=op, item=small, visible=True)  # nothing to change: no row
    actions.set_default(actor=op, item=small)
    actions.move(actor=op, item=small, offset=1)
    actions.update_flavor(actor=op, flavor=small, label="General purpose")
    events = list(AuditEvent.objects.filter(target_id=str(small.pk)).order_by("at", "pk"))
    assert [e.action for e in events] == [
        "flavor.hide",
        "flavor.show",
        "flavor.default",
        "flavor.move",
        "flavor.update",
    ]
    assert all(e.organization_id is None and e.actor_id == operator.pk and e.operator for e in events)
    assert events[-1].after == {"label": "General purpose"} and events[-1].before == {"label": ""}
    assert "Catalog Test" in events[0].target_repr


def test_bulk_hide_changes_only_that_regions_items(region, op):
    other = sandbox_region("catalog-other")
    ids = [flavor(region, "g1.nano").pk, flavor(region, "g1.micro").pk, flavor(other, "g1.nano").pk]
    assert actions.set_visible_many(actor=op, region=region, kind="flavor", ids=ids, visible=False) == 2
    assert flavor(other, "g1.nano").visible
    assert AuditEvent.objects.filter(action="flavor.hide").count() == 2
