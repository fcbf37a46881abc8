"""The launch wizard refuses what it cannot launch, with the reason on the field (or on the form for what the action
refuses), keeps what was typed, and creates nothing: names, counts, another region's image or instance type, an
instance type too small for the image or not offered, user data cloud-init would refuse, someone else's key pair,
a region down or not set up, and a launch over quota with the exact shortfall."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from infra.models import Flavor, ProjectQuota, Region, Server
from infra.models.catalog import Health
from tenants.audit import Actor
from tests.infra.engine import activate, sandbox_region
from tests.infra.test_server_launch_pages import flavor, image, keypair, launch_data, page


@pytest.fixture
def ready(db, tenant_a) -> Region:
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    return region


def refused(tenant, data: dict, *, files: dict | None = None) -> str:
    """Send the form; it must answer 400 with the page (nothing launched). Returns its HTML."""
    response = tenant.client("member").post(page(tenant), {**data, **(files or {})})
    assert response.status_code == 400, response.status_code
    assert not Server.objects.exists()
    return response.content.decode()


def field_error(html: str, text: str) -> bool:
    return bool(re.search(r'class="invalid-feedback d-block"[^>]*>[^<]*' + re.escape(text), html))


@pytest.mark.parametrize(
    ("name", "count", "message"),
    [
        ("web server", 1, "A name has 1 to 63 letters"),
        ("-web", 1, "A name has 1 to 63 letters"),
        ("x" * 62 + "{n}", 10, "A name has 1 to 63 letters"),  # web…10 is 64 characters: too long a host name
        ("web", 0, "Ensure this value is greater than or equal to 1."),
        ("web", 21, "Ensure this value is less than or equal to 20."),
        ("", 1, "This field is required."),
    ],
)
def test_bad_names_and_counts_are_refused_on_their_field(ready, tenant_a, name, count, message):
    client = tenant_a.client("member")
    html = refused(tenant_a, launch_data(client, tenant_a, ready, name=name, count=count))
    assert field_error(html, message), message
    assert f'value="{name}"' in html  # what was typed is kept


def test_a_pattern_whose_names_all_fit_is_accepted(ready, tenant_a):
    client = tenant_a.client("member")
    response = client.post(page(tenant_a), launch_data(client, tenant_a, ready, name="x" * 62 + "{n}", count=9))
    assert response.status_code == 302 and Server.objects.count() == 9


def test_another_regions_image_or_instance_type_is_refused(ready, tenant_a):
    other = sandbox_region("sandbox-other")
    client = tenant_a.client("member")
    html = refused(tenant_a, launch_data(client, tenant_a, ready, image=image(other, "Debian 12").pk))
    assert field_error(html, "Debian 12 is not offered in Sandbox Test.")
    html = refused(tenant_a, launch_data(client, tenant_a, ready, flavor=flavor(other, "g1.small").pk))
    assert field_error(html, "g1.small is not offered in Sandbox Test.")


def test_an_instance_type_too_small_for_the_image_or_not_offered_is_refused(ready, tenant_a):
    client = tenant_a.client("member")
    windows = image(ready, "Windows Server 2022")
    html = refused(
        tenant_a, launch_data(client, tenant_a, ready, image=windows.pk, flavor=flavor(ready, "g1.small").pk)
    )
    assert field_error(html, "g1.small: The image needs a disk of at least 40 GiB.")
    Flavor.objects.filter(pk=flavor(ready, "g1.medium").pk).update(visible=False)
    html = refused(tenant_a, launch_data(client, tenant_a, ready, flavor=flavor(ready, "g1.medium").pk))
    assert field_error(html, "g1.medium is not offered in Sandbox Test.")
    assert "g1.medium" not in html.split('id="launch-flavors"')[1].split("</table>")[0]  # hidden from the table


@pytest.mark.parametrize(
    ("user_data", "message"),
    [
        ("#cloud-config\npackages: [nginx\n", "The #cloud-config is not valid YAML (line"),
        ("packages: [nginx]\n", "User data must start with #cloud-config"),
        ("#cloud-config\n- one\n- two\n", "A #cloud-config must be a YAML mapping"),
        ("#!/bin/sh\n" + "x" * 70_000, "User data is limited to 64 KiB; this is 68.4 KiB."),
    ],
)
def test_user_data_cloud_init_would_refuse_is_refused_on_its_field(ready, tenant_a, user_data, message):
    client = tenant_a.client("member")
    html = refused(tenant_a, launch_data(client, tenant_a, ready, user_data=user_data))
    assert message in html
    assert 'id="id_user_data" rows="8" class="form-control font-monospace is-invalid"' in html


def test_an_uploaded_user_data_file_is_checked_and_shown_in_the_box(ready, tenant_a):
    client = tenant_a.client("member")
    data = launch_data(client, tenant_a, ready, name="")  # refused for the name: the file's text comes back
    upload = SimpleUploadedFile("init.sh", b"#!/bin/sh\necho hello\n")
    html = refused(tenant_a, data, files={"user_data_file": upload})
    assert "#!/bin/sh\necho hello\n</textarea>" in html
    upload = SimpleUploadedFile("big.sh", b"#!/bin/sh\n" + b"x" * 70_000)
    html = refused(tenant_a, launch_data(client, tenant_a, ready), files={"user_data_file": upload})
    assert "User data is limited to 64 KiB; this file is 68.4 KiB." in html
    upload = SimpleUploadedFile("binary.bin", b"\xff\xfe\x00binary")
    html = refused(tenant_a, launch_data(client, tenant_a, ready), files={"user_data_file": upload})
    assert "The file is not UTF-8 text." in html


def test_a_good_uploaded_file_is_the_launchs_user_data(ready, tenant_a):
    client = tenant_a.client("member")
    upload = SimpleUploadedFile("init.yaml", b"#cloud-config\nruncmd:\n  - echo hi\n")
    response = client.post(
        page(tenant_a), {**launch_data(client, tenant_a, ready, user_data="ignored"), "user_data_file": upload}
    )
    assert response.status_code == 302
    assert Server.objects.get().user_data == "#cloud-config\nruncmd:\n  - echo hi\n"


def test_another_users_or_tenants_key_pair_is_refused(ready, tenant_a, tenant_b):
    client = tenant_a.client("member")
    admins = keypair(tenant_a, "admin", "admins-key")
    foreign = keypair(tenant_b, "member", "theirs")
    for other in (admins, foreign):
        html = refused(tenant_a, launch_data(client, tenant_a, ready, keypair=other.pk))
        assert field_error(html, "Choose one of your own key pairs in this project.")
        assert other.name not in html


def test_a_region_that_is_down_or_not_set_up_is_refused(ready, tenant_a):
    client = tenant_a.client("member")
    data = launch_data(client, tenant_a, ready)
    Region.objects.filter(pk=ready.pk).update(health=Health.DOWN, health_message="Maintenance until 14:00 KST.")
    html = refused(tenant_a, data)
    assert field_error(html, "Sandbox Test: Maintenance until 14:00 KST.")
    fresh = sandbox_region("sandbox-fresh")
    data = launch_data(
        client,
        tenant_a,
        fresh,
        image=image(fresh, "Ubuntu 24.04 LTS").pk,
        flavor=flavor(fresh, "g1.small").pk,
    )
    html = refused(tenant_a, data)
    assert field_error(html, "Sandbox Fresh: Not set up for this project.")


def test_over_quota_is_refused_with_the_exact_shortfall_and_the_form_can_be_sent_again(ready, tenant_a):
    ProjectQuota.objects.update_or_create(project=tenant_a.project, region=ready, defaults={"cores": 2})
    client = tenant_a.client("member")
    data = launch_data(client, tenant_a, ready, flavor=flavor(ready, "g1.medium").pk, count=2, name="db")
    html = refused(tenant_a, data)
    assert "Not enough quota. vCPUs in Sandbox Test: this needs 4, 0 of 2 are in use, so it is 2 short." in html
    assert 'value="db"' in html and re.search(r'name="count"[^>]*value="2"', html)
    resent = {**data, "form_id": re.search(r'name="form_id" value="([^"]+)"', html).group(1)}
    assert resent["form_id"] != data["form_id"]  # nothing was launched: the corrected form may be sent
    ProjectQuota.objects.filter(project=tenant_a.project, region=ready).update(cores=4)
    response = client.post(page(tenant_a), resent)
    assert response.status_code == 302 and Server.objects.count() == 2
