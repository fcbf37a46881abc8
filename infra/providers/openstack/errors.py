"""Every exception openstacksdk and keystoneauth raise becomes one of the console's `CloudError`s here, and only here.

Why one place: the tasks decide retry-or-fail from `CloudError.permanent` alone, and a person reads `message` on the
resource's page, so every OpenStack failure must arrive classified and in words (the API's own message, never an
exception class's repr or a URL dump).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import requests
from django.utils.translation import gettext as _
from keystoneauth1 import exceptions as ks
from openstack import exceptions as sdk

from infra.providers.base import CloudError, Conflict, InvalidRequest, NotFound, QuotaExceeded, Unavailable

P = ParamSpec("P")
R = TypeVar("R")

MAX_MESSAGE = 480  # fits Region.health_message and CloudProject.error_message (500) with room to spare

# Nova: 403 "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"; neutron: 409
# "Quota exceeded for resources: ['network']."; cinder: 413 "VolumeLimitExceeded: Maximum number of volumes allowed
# (10) exceeded for quota 'volumes'."; keypairs: 403 "Quota exceeded, too many key pairs."
_QUOTA = re.compile(r"quota|over ?limit|limit exceeded|maximum number of", re.IGNORECASE)


def status_of(error: BaseException) -> int | None:
    """The HTTP status of an SDK or keystoneauth error, if it came from an answer."""
    if isinstance(error, sdk.HttpException):
        return error.status_code
    if isinstance(error, ks.HttpError):
        return error.http_status
    return None


def api_message(error: BaseException) -> str:
    """What the API said, as a person would read it: its message, not the exception's repr or the request URL."""
    text = ""
    if isinstance(error, sdk.HttpException):
        text = error.details or ""
        if not text or text == getattr(error.response, "reason", None):
            text = text or error.message or ""
    elif isinstance(error, ks.HttpError):
        text = error.details or error.message or ""
    else:
        text = str(getattr(error, "message", "") or error)
    # keystoneauth's connection errors append urllib3's repr ("...: HTTPConnectionPool(host=...): Max retries ...").
    text = re.split(r":\s*(?:HTTPS?ConnectionPool|\(<urllib3)", text, maxsplit=1)[0]
    # keystoneauth appends "(HTTP 401) (Request-ID: req-…)": the status is in the class, the id helps no reader.
    text = re.sub(r"\s*\((?:HTTP \d{3}|Request-ID: [^)]*)\)", "", text)
    text = " ".join(text.split())
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    return text


def translate(error: BaseException) -> CloudError:
    """The `CloudError` for an exception raised by openstacksdk, keystoneauth or requests."""
    if isinstance(error, CloudError):
        return error
    message = api_message(error)
    status = status_of(error)
    if status is not None:
        return _from_status(status, message)
    if isinstance(error, (ks.ConnectTimeout, requests.Timeout, sdk.ResourceTimeout)):
        return Unavailable(_("The cloud did not answer in time: %(reason)s") % {"reason": message})
    if isinstance(error, ks.SSLError):
        # A certificate problem does not heal by itself: an operator must fix the region's settings.
        return CloudError(_("The cloud's TLS certificate was refused: %(reason)s") % {"reason": message})
    if isinstance(error, (ks.ConnectionError, ks.RetriableConnectionFailure, requests.ConnectionError)):
        return Unavailable(_("The cloud cannot be reached: %(reason)s") % {"reason": message})
    if isinstance(error, ks.DiscoveryFailure):
        # Usually the identity service answered nothing usable (down, or starting): worth another try.
        return Unavailable(_("The cloud's API versions could not be discovered: %(reason)s") % {"reason": message})
    if isinstance(error, (ks.EndpointNotFound, sdk.EndpointNotFound, sdk.ServiceDiscoveryException)):
        return CloudError(
            _("The region's service catalog lacks a service the console needs: %(reason)s") % {"reason": message}
        )
    if isinstance(error, (ks.AuthPluginException, ks.AuthorizationFailure, sdk.ConfigException)):
        return CloudError(_("The region's cloud settings are incomplete or wrong: %(reason)s") % {"reason": message})
    if isinstance(error, requests.RequestException):
        return Unavailable(_("The cloud cannot be reached: %(reason)s") % {"reason": message})
    if isinstance(error, (sdk.SDKException, ks.ClientException)):
        return CloudError(_("The cloud call failed: %(reason)s") % {"reason": message})
    return CloudError(_("The cloud call failed unexpectedly: %(reason)s") % {"reason": message or type(error).__name__})


def _from_status(status: int, message: str) -> CloudError:
    if status >= 500 or status in (408, 429):
        return Unavailable(
            _("The cloud had a problem (HTTP %(status)s): %(reason)s") % {"status": status, "reason": message}
        )
    if status == 404:
        return NotFound(message or _("Not found in the cloud."))
    if status in (403, 409, 413) and _QUOTA.search(message):
        return QuotaExceeded(message)
    if status == 409:
        return Conflict(message)
    if status == 401:
        return CloudError(_("The region's credentials were refused: %(reason)s") % {"reason": message})
    if status == 403:
        return CloudError(_("The region's service user is not allowed to do this: %(reason)s") % {"reason": message})
    return InvalidRequest(message or _("The cloud refused the request (HTTP %(status)s).") % {"status": status})


@contextmanager
def translated() -> Iterator[None]:
    """Run a block of SDK calls; whatever escapes it is a `CloudError`."""
    try:
        yield
    except CloudError:
        raise
    except Exception as error:
        raise translate(error) from error


def normalised(method: Callable[P, R]) -> Callable[P, R]:
    """A driver method whose SDK and keystoneauth errors leave it as `CloudError`s."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with translated():
            return method(*args, **kwargs)

    return wrapper
