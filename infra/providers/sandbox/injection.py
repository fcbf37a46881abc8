"""Failure injection and timing settings of a sandbox region, read fresh from the Region row on every call (operators
and tests change them live), and one-shot faults consumed atomically. The keys are documented in
`infra.providers.sandbox.driver`."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from infra.providers.base import CloudError, Conflict, InvalidRequest, NotFound, QuotaExceeded, Unavailable

# Base durations in seconds at speed 1.0 (settings["timings"] may override any of them).
TIMINGS = {
    "build": 4.0,
    "stop": 2.0,
    "start": 2.0,
    "reboot": 3.0,
    "hard_reboot": 4.0,
    "resize": 5.0,
    "confirm": 1.0,
    "revert": 3.0,
    "rebuild": 5.0,
    "delete": 2.0,
}

BUILD_FAULT = "No valid host was found. There are not enough hosts available."
ERROR_KINDS = ("unavailable", "invalid", "quota", "conflict", "not_found", "build_error")


@dataclass(frozen=True)
class Settings:
    """One call's view of the region's settings."""

    name: str
    speed: float = 1.0
    error_rate: float = 0.0
    latency_ms: int = 0
    outage: bool = False
    faults: tuple[dict[str, Any], ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    default_quotas: dict[str, int] = field(default_factory=dict)
    public_cidr: str = "198.18.0.0/15"
    public_network: str = "public"
    dedupe_requests: bool = False

    @classmethod
    def parse(cls, name: str, raw: dict[str, Any]) -> Settings:
        def number(key: str, default: float) -> float:
            try:
                return float(raw.get(key, default))
            except (TypeError, ValueError):
                return default

        speed = number("speed", 1.0)
        return cls(
            name=name,
            speed=speed if speed > 0 else 1.0,
            error_rate=min(max(number("error_rate", 0.0), 0.0), 1.0),
            latency_ms=max(int(number("latency_ms", 0)), 0),
            outage=bool(raw.get("outage", False)),
            faults=tuple(normalise_faults(raw.get("faults"))),
            timings={k: float(v) for k, v in (raw.get("timings") or {}).items() if k in TIMINGS},
            default_quotas={k: int(v) for k, v in (raw.get("default_quotas") or {}).items()},
            public_cidr=str(raw.get("public_cidr") or "198.18.0.0/15"),
            public_network=str(raw.get("public_network") or "public"),
            dedupe_requests=bool(raw.get("dedupe_requests", False)),
        )

    def seconds(self, task: str) -> float:
        """How long `task` takes now, in wall-clock seconds."""
        return self.timings.get(task, TIMINGS[task]) / self.speed


def normalise_faults(value: Any) -> list[dict[str, Any]]:
    """`faults` may be one fault (a dict) or a list of them; anything else is ignored."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [fault for fault in value if isinstance(fault, dict)]
    return []


def fault_matches(fault: dict[str, Any], op: str) -> bool:
    return fault.get("op") in (op, "*")


def _times(fault: dict[str, Any]) -> int:
    try:
        return int(fault.get("times", 1))
    except (TypeError, ValueError):
        return 1


def is_build_error(fault: dict[str, Any]) -> bool:
    return bool(fault.get("build_error")) or fault.get("error") == "build_error"


def fault_error(fault: dict[str, Any], op: str, region_name: str) -> CloudError:
    """The error a consumed fault raises (its `message`, if it has one, else a readable default)."""
    kind = str(fault.get("error") or "unavailable")
    message = fault.get("message")
    if kind == "invalid":
        return InvalidRequest(message or _("Invalid request (injected fault on %(op)s).") % {"op": op})
    if kind == "quota":
        return QuotaExceeded(message or _("Quota exceeded for instances (injected fault on %(op)s).") % {"op": op})
    if kind == "conflict":
        return Conflict(message or _("The resource is busy (injected fault on %(op)s).") % {"op": op})
    if kind == "not_found":
        return NotFound(message or _("The resource could not be found (injected fault on %(op)s).") % {"op": op})
    return Unavailable(
        message
        or _("Region %(region)s did not answer in time (injected fault on %(op)s).") % {"region": region_name, "op": op}
    )


@dataclass
class Call:
    """What the injection decided for one call: the settings it read and the fault it consumed, if any."""

    settings: Settings
    fault: dict[str, Any] | None = None

    @property
    def build_error(self) -> str | None:
        if self.fault is not None and is_build_error(self.fault):
            return str(self.fault.get("message") or BUILD_FAULT)
        return None


class Injector:
    """Reads a region's settings and applies them to each call. One per driver; the RNG is seeded from
    settings["seed"] when given, so a test can replay the same sequence of injected errors."""

    def __init__(self, region: Any) -> None:
        self.region_id: uuid.UUID | None = region.pk
        self.region_name: str = region.name
        self._fallback: dict[str, Any] = dict(region.settings or {})
        seed = self._fallback.get("seed")
        self.rng = random.Random(seed)  # noqa: S311 - failure injection, not secrets

    def read(self) -> Settings:
        from infra.models import Region

        row = Region.objects.filter(pk=self.region_id).values("name", "settings").first() if self.region_id else None
        if row is None:
            return Settings.parse(self.region_name, self._fallback)
        return Settings.parse(row["name"], row["settings"] or {})

    def down_message(self, settings: Settings) -> str:
        return _("Region %(region)s does not answer.") % {"region": settings.name}

    def take_fault(self, op: str) -> dict[str, Any] | None:
        """Consume the first fault for `op` atomically (the region row locked): two callers never both take a fault
        meant for one call. Returns it, or None if another caller took it first."""
        from infra.models import Region

        with transaction.atomic():
            region = Region.objects.select_for_update().filter(pk=self.region_id).only("settings").first()
            if region is None:
                return None
            raw = dict(region.settings or {})
            faults = normalise_faults(raw.get("faults"))
            taken = None
            remaining: list[dict[str, Any]] = []
            for fault in faults:
                if taken is not None or not fault_matches(fault, op):
                    remaining.append(fault)
                    continue
                times = _times(fault)
                if times < 1:
                    continue  # used up (or nonsense): dropped
                taken = fault
                if times > 1:
                    remaining.append({**fault, "times": times - 1})
            if remaining != faults:
                raw["faults"] = remaining
                Region.objects.filter(pk=self.region_id).update(settings=raw)
            return taken

    @contextmanager
    def call(self, op: str) -> Iterator[Call]:
        """Around one driver call: latency, outage, a one-shot fault (before the call, or after it with "after"),
        then the error rate. Raises `Unavailable`/the fault's error instead of running the call."""
        settings = self.read()
        if settings.latency_ms:
            time.sleep(settings.latency_ms / 1000)
        if settings.outage:
            raise Unavailable(self.down_message(settings))
        fault = None
        if any(fault_matches(f, op) for f in settings.faults):
            fault = self.take_fault(op)
        if fault is not None and not is_build_error(fault) and not fault.get("after"):
            raise fault_error(fault, op, settings.name)
        if settings.error_rate and self.rng.random() < settings.error_rate:
            raise Unavailable(
                _("Region %(region)s did not answer in time (injected error rate %(rate)s).")
                % {"region": settings.name, "rate": f"{settings.error_rate:g}"}
            )
        yield Call(settings=settings, fault=fault)
        if fault is not None and fault.get("after") and not is_build_error(fault):
            if fault.get("hang_ms"):  # the cloud acted, then the answer never comes back in time
                time.sleep(float(fault["hang_ms"]) / 1000)
            raise fault_error(fault, op, settings.name)
