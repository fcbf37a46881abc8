"""What still lives in a project, asked before the project is deleted.

Apps that own project resources (infra: servers, networks, volumes; billing: open invoices…) register a counter in
their `AppConfig.ready()`; tenants never imports them, so the layers stay as the design draws them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise

from tenants.models import Project


@dataclass(frozen=True)
class ResourceCounter:
    label: str | Promise  # plural noun, e.g. _("servers")
    count: Callable[[Project], int]


_counters: list[ResourceCounter] = []


def register_project_resources(label: str | Promise, count: Callable[[Project], int]) -> None:
    """Register a counter of live resources of one kind in a project (deleting the project waits for zero)."""
    _counters.append(ResourceCounter(label, count))


def remaining_resources(project: Project) -> list[tuple[str | Promise, int]]:
    """(label, count) for every kind of resource the project still holds."""
    found = []
    for counter in _counters:
        count = counter.count(project)
        if count:
            found.append((counter.label, count))
    return found
