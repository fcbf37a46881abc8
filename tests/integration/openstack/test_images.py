"""Glance: a member uploads a private image, which becomes active, and deletes it."""

from __future__ import annotations

import hashlib

from tests.integration.openstack.cloud import MARKS, Tenant, expect_gone, wait_for

pytestmark = MARKS


def test_member_uploads_and_deletes_an_image(tenant: Tenant) -> None:
    image_api = tenant.conn.image
    data = bytes(range(256)) * 4096  # 1 MiB
    image = image_api.create_image(
        name="haneul-test-image", data=data, disk_format="raw", container_format="bare", visibility="private"
    )
    try:
        active = wait_for("image active", lambda: (found := image_api.get_image(image.id)).status == "active" and found)
        assert active.size == len(data)
        assert active.hash_value == hashlib.sha512(data).hexdigest()
        assert active.owner == tenant.project_id
        assert image.id in {listed.id for listed in image_api.images(owner=tenant.project_id)}
    finally:
        image_api.delete_image(image.id)
    expect_gone(image_api.get_image, image.id)


def test_member_sees_the_public_image(tenant: Tenant) -> None:
    image = tenant.conn.image.find_image("haneul-tiny", ignore_missing=False)
    assert (image.status, image.visibility) == ("active", "public")
