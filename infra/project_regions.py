"""A project's regions as pages and the API read them: every region open to tenants with the project's cloud project
there, and what that means (not set up, queued, setting up, active, error), in two queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from infra import catalog
from infra.models import CloudProject, Region
from infra.providers.base import Health
from tenants.models import Project

NOT_SET_UP = "not_set_up"  # the state of a region where the project has no cloud project


@dataclass(frozen=True)
class RegionState:
    """One region as this project sees it: the cloud project there (None: not set up) and what may be done."""

    region: Region
    cloud_project: CloudProject | None

    @property
    def state(self) -> str:
        """`not_set_up`, or the cloud project's status (pending, creating, active, error, vanished)."""
        return self.cloud_project.status if self.cloud_project is not None else NOT_SET_UP

    @property
    def state_label(self) -> str:
        if self.cloud_project is None:
            return _("Not set up")
        return self.cloud_project.get_status_display()

    @property
    def usable(self) -> bool:
        return self.cloud_project is not None and self.cloud_project.is_usable

    @property
    def in_progress(self) -> bool:
        return self.state in (CloudProject.Status.PENDING, CloudProject.Status.CREATING)

    @property
    def activatable(self) -> bool:
        """Whether activating (or trying again after an error) is what this region's state calls for."""
        return self.state in (NOT_SET_UP, CloudProject.Status.ERROR)

    @property
    def health_reason(self) -> str:
        """Why a region that is down (or degraded) is so, as the health check said."""
        if self.region.health in (Health.DOWN, Health.DEGRADED):
            return self.region.health_message or self.region.get_health_display()
        return ""


def region_states(project: Project) -> list[RegionState]:
    """Every region open to tenants with the project's cloud project there (two queries)."""
    cloud_projects = {
        cp.region_id: cp for cp in CloudProject.objects.live().filter(project=project).select_related("region")
    }
    return [RegionState(region, cloud_projects.get(region.pk)) for region in catalog.open_regions()]
