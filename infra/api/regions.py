"""API endpoints: a project's regions — every region open to tenants with the project's state there, and activating
one (the same action as the console's regions page, `infra.actions.projects.activate_region`, admins and owners).

`GET /api/v1/projects/<id>/regions/` answers each open region with `status` (`not_set_up`, `pending`, `creating`,
`active`, `error`, `vanished`), the default private network's `cidr` once active, and the `error` to act on.
`POST …/regions/<slug>/activate/` answers 202 with that state: a task makes the cloud project with its private
network; poll the list (or the console's live page) until `active`. After an error, the same POST tries again.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from infra import catalog
from infra.actions import projects as actions
from infra.models import CloudProject
from infra.project_regions import NOT_SET_UP, RegionState, region_states
from infra.providers.base import Health
from tenants.api.idempotency import idempotent
from tenants.api.scope import api_actor, project_scope
from tenants.policy import NotFound

STATUSES = [(NOT_SET_UP, "Not set up"), *CloudProject.Status.choices]


class ProjectRegionSerializer(serializers.Serializer):
    region = serializers.CharField(source="region.slug", help_text="The region's code.")
    name = serializers.CharField(source="region.name")
    provider = serializers.CharField(source="region.get_provider_display", help_text="e.g. Sandbox, OpenStack.")
    health = serializers.ChoiceField(source="region.health", choices=Health.choices)
    health_message = serializers.CharField(
        source="health_reason", help_text="Why the region is down or degraded (blank when it is up)."
    )
    available = serializers.BooleanField(
        source="region.is_available", help_text="Whether the region takes new projects and resources now."
    )
    status = serializers.ChoiceField(
        source="state",
        choices=STATUSES,
        help_text="The project's state in the region: not_set_up until activated, then pending, creating and "
        "active (or error, with the reason; vanished if the cloud project disappeared).",
    )
    usable = serializers.BooleanField(help_text="Whether instances can be launched here now (status active).")
    cidr = serializers.SerializerMethodField(help_text="The default private network's range, once active.")
    error = serializers.SerializerMethodField(help_text="What went wrong (status error or vanished), else null.")

    def get_cidr(self, item: RegionState) -> str | None:
        return item.cloud_project.cidr or None if item.usable else None

    def get_error(self, item: RegionState) -> str | None:
        if item.state in (CloudProject.Status.ERROR, CloudProject.Status.VANISHED):
            return item.cloud_project.error_message or None
        return None


@extend_schema(tags=["regions"])
class ProjectRegionListView(generics.ListAPIView):
    serializer_class = ProjectRegionSerializer

    def get_queryset(self) -> list[RegionState]:
        _scope, project = project_scope(self.request, self.kwargs["project_id"])
        return region_states(project)

    @extend_schema(summary="The regions open to tenants, each with the project's state there")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["regions"])
class ProjectRegionActivateView(APIView):
    @extend_schema(
        summary="Set the project up in a region (admins and owners); after an error, try again",
        description=(
            "Answers 202 with the region's state (`pending`): a task makes the project's cloud project with a "
            "private network routed to the public network; quotas apply there. 409 `conflict` if the project is "
            "already active (or being set up) there, 409 `organization_suspended` for a suspended organisation, "
            "400 `refused` when the region is down, 403 below admin, 404 for another tenant's project or a region "
            "that is not open."
        ),
        request=None,
        responses={
            202: ProjectRegionSerializer,
            403: OpenApiResponse(description="Your role (or the token's) is below admin."),
            409: OpenApiResponse(description="Already active there, or the organisation is suspended."),
        },
    )
    @idempotent
    def post(self, request: Request, project_id: uuid.UUID, region_slug: str) -> Response:
        _scope, project = project_scope(request, project_id)
        region = catalog.open_regions().filter(slug=region_slug).first()
        if region is None:
            raise NotFound()
        cloud_project = actions.activate_region(actor=api_actor(request), project=project, region=region)
        cloud_project.region = region
        data = ProjectRegionSerializer(RegionState(region, cloud_project)).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


project = "v1/projects/<uuid:project_id>/"

urlpatterns: list[URLPattern] = [
    path(f"{project}regions/", ProjectRegionListView.as_view(), name="project_regions"),
    path(
        f"{project}regions/<slug:region_slug>/activate/",
        ProjectRegionActivateView.as_view(),
        name="project_region_activate",
    ),
]
