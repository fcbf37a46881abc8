"""Fixtures of infra's tests. `cloud` runs a test once per driver: the sandbox, and (marked `openstack`) the local
OpenStack from `make openstack`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infra.clouds import CloudUnderTest
from tests.integration.openstack.cloud import MARKS as OPENSTACK_MARKS


@pytest.fixture(params=["sandbox", pytest.param("openstack", marks=OPENSTACK_MARKS)])
def cloud(request: pytest.FixtureRequest, db: None) -> Iterator[CloudUnderTest]:
    """A driver and a ready cloud project, once per provider."""
    if request.param == "sandbox":
        from tests.infra.sandbox_cloud import sandbox_cloud

        yield from sandbox_cloud()
    else:
        yield request.getfixturevalue("openstack_cloud")


@pytest.fixture(scope="session")
def openstack_cloud_project() -> Iterator[object]:
    """One fresh cloud project on the local OpenStack for the whole run (tests.infra.openstack_cloud sweeps it)."""
    from tests.infra.openstack_cloud import session_project

    yield from session_project()


@pytest.fixture
def openstack_cloud(openstack_cloud_project: object, db: None) -> CloudUnderTest:
    from tests.infra.openstack_cloud import cloud_for

    return cloud_for(openstack_cloud_project)
