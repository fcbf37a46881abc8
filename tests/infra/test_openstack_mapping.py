"""The OpenStack driver's pure parts: nova's statuses in the console's words, and the one place that classifies
errors. These need no cloud: the error table feeds real openstacksdk/keystoneauth exceptions (made from HTTP answers
the way openstacksdk makes them) through `translate`; the errors a live cloud gives are provoked in
test_openstack_driver.py.
"""

from __future__ import annotations

import json

import pytest
import requests
from keystoneauth1 import exceptions as ks
from openstack import exceptions as sdk

from infra.providers.base import CloudError, Conflict, InvalidRequest, NotFound, QuotaExceeded, Status, Unavailable
from infra.providers.openstack.errors import api_message, translate
from infra.providers.openstack.mapping import addresses, fault_message, map_status


@pytest.mark.parametrize(
    ("status", "task_state", "expected"),
    [
        ("BUILD", "scheduling", Status.BUILDING),
        ("BUILD", "spawning", Status.BUILDING),
        ("ACTIVE", None, Status.ACTIVE),
        ("ACTIVE", "powering-off", Status.STOPPING),
        ("SHUTOFF", None, Status.STOPPED),
        ("SHUTOFF", "powering-on", Status.STARTING),
        ("REBOOT", "reboot_pending", Status.REBOOTING),
        ("HARD_REBOOT", "reboot_started_hard", Status.REBOOTING),
        ("RESIZE", "resize_migrating", Status.RESIZING),
        ("MIGRATING", "migrating", Status.RESIZING),
        ("VERIFY_RESIZE", None, Status.VERIFY_RESIZE),
        ("REVERT_RESIZE", "resize_reverting", Status.REVERTING),
        ("REBUILD", "rebuild_spawning", Status.REBUILDING),
        ("ERROR", None, Status.ERROR),
        ("DELETED", None, Status.DELETED),
        ("SOFT_DELETED", None, Status.DELETED),
        ("PAUSED", None, Status.STOPPED),
        ("SUSPENDED", None, Status.STOPPED),
        ("SHELVED", None, Status.STOPPED),
        ("SHELVED_OFFLOADED", None, Status.STOPPED),
        ("ACTIVE", "deleting", Status.DELETING),
        ("SHUTOFF", "deleting", Status.DELETING),
        ("ERROR", "deleting", Status.DELETING),
        ("UNKNOWN", None, Status.ERROR),
        ("SOMETHING_NEW", None, Status.ERROR),
    ],
)
def test_nova_status_and_task_state_map_to_ours(status: str, task_state: str | None, expected: Status) -> None:
    assert map_status(status, task_state) == expected


class _Server:
    def __init__(self, status: str, fault: object = None) -> None:
        self.status = status
        self.fault = fault


def test_fault_message_is_novas_and_unknown_states_are_explained() -> None:
    assert fault_message(_Server("ERROR", {"code": 500, "message": "No valid host was found."}), Status.ERROR) == (
        "No valid host was found."
    )
    assert "compute host" in (fault_message(_Server("UNKNOWN"), Status.ERROR) or "")
    assert "WEIRD" in (fault_message(_Server("WEIRD"), Status.ERROR) or "")
    assert fault_message(_Server("ACTIVE"), Status.ACTIVE) is None


def test_addresses_are_flattened_with_kind_version_and_mac() -> None:
    raw = {
        "hn-default": [
            {"addr": "198.51.100.7", "version": 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:0"},
            {"addr": "203.0.113.20", "version": 4, "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": "fa:16"},
            {"addr": "2001:db8::5", "version": 6, "OS-EXT-IPS:type": "fixed"},
        ]
    }
    found = addresses(raw)
    assert [(a.ip, a.kind, a.version, a.network) for a in found] == [
        ("198.51.100.7", "fixed", 4, "hn-default"),
        ("203.0.113.20", "floating", 4, "hn-default"),
        ("2001:db8::5", "fixed", 6, "hn-default"),
    ]
    assert found[0].mac == "fa:16:3e:0"
    assert addresses(None) == ()


# --- errors --------------------------------------------------------------------------------------------------------


def http_error(status: int, body: dict | None = None, reason: str = "") -> sdk.SDKException:
    """The exception openstacksdk raises for an HTTP answer (through its own `raise_from_response`)."""
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response.url = "http://127.0.0.1:8774/v2.1/servers"
    if body is not None:
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
    try:
        sdk.raise_from_response(response)
    except sdk.SDKException as error:
        return error
    raise AssertionError("no exception")


@pytest.mark.parametrize(
    ("status", "body", "kind", "permanent", "says"),
    [
        (404, {"itemNotFound": {"code": 404, "message": "Instance x could not be found."}}, NotFound, True, "x could"),
        (409, {"conflictingRequest": {"code": 409, "message": "Instance x is locked"}}, Conflict, True, "locked"),
        (
            403,
            {
                "forbidden": {
                    "code": 403,
                    "message": "Quota exceeded for instances: Requested 1, but already used 2 of 2",
                }
            },
            QuotaExceeded,
            True,
            "instances",
        ),
        (
            409,
            {"NeutronError": {"message": "Quota exceeded for resources: ['network'].", "type": "OverQuota"}},
            QuotaExceeded,
            True,
            "network",
        ),
        (
            413,
            {
                "overLimit": {
                    "code": 413,
                    "message": "VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded",
                }
            },
            QuotaExceeded,
            True,
            "volumes",
        ),
        (
            403,
            {"forbidden": {"code": 403, "message": "Policy doesn't allow os_compute_api:servers:create"}},
            CloudError,
            True,
            "Policy",
        ),
        (
            401,
            {"error": {"code": 401, "message": "The request you have made requires authentication."}},
            CloudError,
            True,
            "credentials",
        ),
        (
            400,
            {"badRequest": {"code": 400, "message": "Flavor nope could not be found."}},
            InvalidRequest,
            True,
            "nope",
        ),
        (422, {"error": {"message": "Unprocessable"}}, InvalidRequest, True, "Unprocessable"),
        (500, {"computeFault": {"code": 500, "message": "Unexpected API Error."}}, Unavailable, False, "Unexpected"),
        (502, None, Unavailable, False, "Bad Gateway"),
        (503, None, Unavailable, False, "Service Unavailable"),
        (504, None, Unavailable, False, "Gateway Timeout"),
        (429, None, Unavailable, False, "Too Many"),
    ],
)
def test_http_answers_are_classified(status: int, body: dict | None, kind: type, permanent: bool, says: str) -> None:
    reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 429: "Too Many Requests"}
    error = translate(http_error(status, body, reason.get(status, "")))
    assert type(error) is kind, (type(error), error)
    assert error.permanent is permanent
    assert says in error.message
    assert "Exception" not in error.message and "http://" not in error.message


def test_keystoneauth_transport_errors_are_transient_and_readable() -> None:
    refused = ks.ConnectFailure(
        "Unable to establish connection to http://127.0.0.1:5000/v3/auth/tokens: HTTPConnectionPool(host='127.0.0.1', "
        "port=5000): Max retries exceeded with url: /v3/auth/tokens (Caused by NewConnectionError(...))"
    )
    translated = translate(refused)
    assert isinstance(translated, Unavailable) and not translated.permanent
    assert "HTTPConnectionPool" not in translated.message
    assert isinstance(translate(ks.ConnectTimeout("Request to http://x timed out")), Unavailable)
    assert isinstance(translate(ks.DiscoveryFailure("Could not find versioned identity endpoints")), Unavailable)
    assert isinstance(translate(requests.ConnectionError("reset by peer")), Unavailable)


def test_keystoneauth_401_and_sdk_config_errors_are_permanent() -> None:
    unauthorized = ks.http.Unauthorized(
        message="The request you have made requires authentication. (HTTP 401) (Request-ID: req-1)", http_status=401
    )
    error = translate(unauthorized)
    assert type(error) is CloudError and error.permanent
    assert "credentials" in error.message and "Request-ID" not in error.message and "HTTP 401" not in error.message
    assert translate(sdk.ConfigException("Cloud nope was not found.")).permanent
    assert translate(ks.EndpointNotFound("no volumev3 endpoint")).permanent


def test_a_cloud_error_passes_unchanged_and_messages_are_bounded() -> None:
    original = Conflict("already")
    assert translate(original) is original
    assert len(api_message(RuntimeError("x" * 5000))) <= 480
