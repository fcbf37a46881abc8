"""Which driver serves a region: `driver_for(region)`. The console asks this and nothing else about providers."""

from __future__ import annotations

import hashlib
import json
import threading
from importlib import import_module
from typing import TYPE_CHECKING

from infra.providers.base import CloudDriver

if TYPE_CHECKING:
    from infra.models import Region

# provider name -> "module:factory"; the factory takes the Region and returns a CloudDriver.
DRIVERS = {
    "sandbox": "infra.providers.sandbox.driver:SandboxDriver",
    "openstack": "infra.providers.openstack.driver:OpenStackDriver",
}

_cache: dict[str, tuple[str, CloudDriver]] = {}  # region id -> (its settings' digest, its driver)
_lock = threading.Lock()


def driver_for(region: Region) -> CloudDriver:
    """The region's driver, one per region per process, so connections are reused; made anew when the region's
    settings changed (a new driver replaces the old one: the cache never holds more than one per region)."""
    digest = hashlib.sha256(json.dumps([region.provider, region.settings], sort_keys=True).encode()).hexdigest()
    with _lock:
        cached = _cache.get(str(region.pk))
        if cached is None or cached[0] != digest:
            cached = (digest, driver_class(region.provider)(region))
            _cache[str(region.pk)] = cached
        return cached[1]


def driver_class(provider: str) -> type:
    module_name, _colon, factory = DRIVERS[provider].partition(":")
    return getattr(import_module(module_name), factory)


def supports(provider: str, capability: str) -> bool:
    """Whether a provider's driver has an optional capability (its class's `capabilities`), e.g.
    "failure_injection": pages offer what a provider can do without naming providers."""
    return capability in getattr(driver_class(provider), "capabilities", frozenset())


def forget_drivers() -> None:
    """Drop cached drivers (tests that change a region's settings under the same key, or rebuild a cloud)."""
    with _lock:
        _cache.clear()
