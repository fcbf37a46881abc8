"""Failure injection on the sandbox, read from the region's settings on every call: one-shot faults of each kind
(before or after the call takes effect, and a build that fails in the cloud), a region outage, an error rate, added
latency. Faults are consumed atomically, so two callers never both take a fault meant for one call."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from django.db import connection

from infra.models import Region
from infra.providers.base import (
    CloudError,
    Conflict,
    Health,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
    ServerAction,
    ServerSpec,
    Status,
    Unavailable,
)
from infra.providers.sandbox.driver import SandboxDriver
from tests.infra.clouds import CloudUnderTest, wait_for_status
from tests.infra.sandbox_cloud import sandbox_cloud

pytestmark = pytest.mark.django_db


@pytest.fixture
def cloud() -> CloudUnderTest:
    yield from sandbox_cloud()


def configure(cloud: CloudUnderTest, **settings: Any) -> None:
    """Change the region's settings live, as an operator does (the driver object is not told)."""
    region = Region.objects.get(pk=cloud.region.pk)
    region.settings = {**region.settings, **settings}
    Region.objects.filter(pk=region.pk).update(settings=region.settings)


def faults_left(cloud: CloudUnderTest) -> list[dict]:
    return Region.objects.get(pk=cloud.region.pk).settings.get("faults", [])


def spec(cloud: CloudUnderTest, request_id: str | None = None) -> ServerSpec:
    return ServerSpec(
        name="faulty",
        flavor_id=cloud.flavor_id,
        image_id=cloud.image_id,
        request_id=request_id or str(uuid.uuid4()),
        network_ids=(cloud.network_id,),
    )


@pytest.mark.parametrize(
    ("kind", "error", "permanent"),
    [
        ("unavailable", Unavailable, False),
        ("invalid", InvalidRequest, True),
        ("quota", QuotaExceeded, True),
        ("conflict", Conflict, True),
        ("not_found", NotFound, True),
    ],
)
def test_each_fault_kind_raises_its_error_once(cloud: CloudUnderTest, kind: str, error: type, permanent: bool) -> None:
    configure(cloud, faults=[{"op": "create_server", "error": kind, "times": 1}])
    request = spec(cloud)
    with pytest.raises(error) as caught:
        cloud.driver.create_server(cloud.project_id, request)
    assert caught.value.permanent is permanent
    assert "create_server" in str(caught.value)  # readable, and says it was injected where
    assert faults_left(cloud) == []
    assert cloud.driver.find_server(cloud.project_id, request_id=request.request_id) is None  # nothing was made
    assert cloud.driver.create_server(cloud.project_id, request).status == Status.BUILDING  # consumed: next call works


def test_times_counts_down_and_other_ops_are_untouched(cloud: CloudUnderTest) -> None:
    configure(cloud, faults=[{"op": "get_server", "error": "unavailable", "times": 2, "message": "nova timed out"}])
    made = cloud.driver.create_server(cloud.project_id, spec(cloud))  # another op: no fault
    for left in (1, 0):
        with pytest.raises(Unavailable, match="nova timed out"):
            cloud.driver.get_server(cloud.project_id, made.id)
        assert [f.get("times") for f in faults_left(cloud)] == ([left] if left else [])
    assert cloud.driver.get_server(cloud.project_id, made.id).id == made.id


def test_a_single_fault_may_be_a_dict_and_star_matches_any_op(cloud: CloudUnderTest) -> None:
    configure(cloud, faults={"op": "*", "error": "conflict"})
    with pytest.raises(Conflict):
        cloud.driver.list_flavors()
    assert faults_left(cloud) == []
    assert cloud.driver.list_flavors()


def test_after_the_cloud_acted_the_error_is_raised_and_the_server_exists(cloud: CloudUnderTest) -> None:
    """A timeout after the cloud acted: the console must look the server up by its request id, not create again."""
    configure(cloud, faults=[{"op": "create_server", "error": "unavailable", "after": True}])
    request = spec(cloud)
    with pytest.raises(Unavailable):
        cloud.driver.create_server(cloud.project_id, request)
    found = cloud.driver.find_server(cloud.project_id, request_id=request.request_id)
    assert found is not None and found.status in (Status.BUILDING, Status.ACTIVE)


def test_an_action_that_acted_then_timed_out(cloud: CloudUnderTest) -> None:
    made = cloud.driver.create_server(cloud.project_id, spec(cloud))
    wait_for_status(cloud, made.id, {Status.ACTIVE}, cloud.timeout)
    configure(cloud, faults=[{"op": "server_action", "error": "unavailable", "after": True}])
    with pytest.raises(Unavailable):
        cloud.driver.server_action(cloud.project_id, made.id, ServerAction("stop"))
    assert cloud.driver.get_server(cloud.project_id, made.id).status in (Status.STOPPING, Status.STOPPED)


@pytest.mark.parametrize("fault", [{"error": "build_error"}, {"build_error": True, "message": "Disk full on host"}])
def test_a_build_error_puts_the_server_in_error_with_a_fault(cloud: CloudUnderTest, fault: dict) -> None:
    configure(cloud, faults=[{"op": "create_server", **fault}])
    made = cloud.driver.create_server(cloud.project_id, spec(cloud))
    assert made.status == Status.BUILDING  # the create itself succeeded
    failed = wait_for_status(cloud, made.id, {Status.ERROR}, cloud.timeout)
    assert failed.cloud_status == "ERROR"
    assert failed.fault == fault.get("message", "No valid host was found. There are not enough hosts available.")
    assert cloud.driver.console_log(cloud.project_id, made.id) == ""  # it never booted
    cloud.driver.delete_server(cloud.project_id, made.id)  # an ERROR server can be deleted


def test_outage_every_call_fails_and_health_is_down(cloud: CloudUnderTest) -> None:
    configure(cloud, outage=True)
    calls = [
        lambda: cloud.driver.list_flavors(),
        lambda: cloud.driver.get_project(cloud.project_id),
        lambda: cloud.driver.create_server(cloud.project_id, spec(cloud)),
        lambda: cloud.driver.delete_server(cloud.project_id, str(uuid.uuid4())),
    ]
    for call in calls:
        with pytest.raises(Unavailable) as caught:
            call()
        assert not caught.value.permanent
        assert str(caught.value) == f"Region {cloud.region.name} does not answer."
    report = cloud.driver.check_health()
    assert report.health == Health.DOWN and "does not answer" in report.message
    configure(cloud, outage=False)
    assert cloud.driver.check_health().health == Health.UP
    assert cloud.driver.list_flavors()


def test_error_rate_fails_that_share_of_calls_replayably_with_a_seed(cloud: CloudUnderTest) -> None:
    configure(cloud, error_rate=0.3, seed=7)

    def outcomes() -> list[bool]:
        driver = SandboxDriver(Region.objects.get(pk=cloud.region.pk))  # seeded at construction
        results = []
        for _ in range(400):
            try:
                driver.get_project(cloud.project_id)
                results.append(True)
            except Unavailable as error:
                assert "error rate 0.3" in str(error)
                results.append(False)
        return results

    first = outcomes()
    assert 0.22 < first.count(False) / len(first) < 0.38
    assert outcomes() == first  # the same seed replays the same failures
    assert cloud.driver.check_health().health == Health.DEGRADED


def test_error_rate_zero_and_one(cloud: CloudUnderTest) -> None:
    configure(cloud, error_rate=1)
    for _ in range(20):
        with pytest.raises(Unavailable):
            cloud.driver.list_images()
    configure(cloud, error_rate=0)
    for _ in range(20):
        cloud.driver.list_images()
    assert cloud.driver.check_health().health == Health.UP


def test_latency_is_added_to_every_call_and_to_health(cloud: CloudUnderTest) -> None:
    configure(cloud, latency_ms=150)
    started = time.monotonic()
    cloud.driver.list_flavors()
    assert time.monotonic() - started >= 0.15
    report = cloud.driver.check_health()
    assert report.health == Health.UP and report.latency_ms is not None and report.latency_ms >= 150


def test_health_is_up_with_latency_and_a_check_health_fault_reports_down(cloud: CloudUnderTest) -> None:
    report = cloud.driver.check_health()
    assert report.health == Health.UP and report.latency_ms is not None
    configure(cloud, faults=[{"op": "check_health", "message": "keystone refused the token"}])
    report = cloud.driver.check_health()
    assert (report.health, report.message) == (Health.DOWN, "keystone refused the token")
    assert cloud.driver.check_health().health == Health.UP


def test_settings_are_read_fresh_without_a_new_driver(cloud: CloudUnderTest) -> None:
    driver = cloud.driver
    configure(cloud, outage=True)
    with pytest.raises(Unavailable):
        driver.list_flavors()
    configure(cloud, outage=False)
    assert driver.list_flavors()


@pytest.mark.django_db(transaction=True)
def test_a_fault_for_one_call_is_taken_by_exactly_one_of_four_concurrent_callers() -> None:
    cloud = next(sandbox_cloud())  # committed rows: the transactional test's flush removes them
    configure(cloud, faults=[{"op": "get_project", "error": "unavailable", "times": 1}])
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def call() -> None:
        try:
            barrier.wait()
            SandboxDriver(cloud.region).get_project(cloud.project_id)
            outcomes.append("ok")
        except CloudError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "ok", "ok", "unavailable"]
    assert faults_left(cloud) == []
