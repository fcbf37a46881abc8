"""API endpoints: a project's quotas and its quota increase requests; operators' queue, decisions, a project's
limits and a region's defaults. The same actions as the console pages (`infra.actions.quotas`)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from infra import quotas
from infra.actions import quotas as actions
from infra.models import QuotaRequest, Region, Resource
from tenants.api.idempotency import idempotent
from tenants.api.pagination import CursorPagination
from tenants.api.permissions import OperatorOnly
from tenants.api.scope import api_actor, operator_actor, project_scope
from tenants.models import Project
from tenants.policy import NotFound

# Serializers ---------------------------------------------------------------------------------------------------------


class QuotaLineSerializer(serializers.Serializer):
    resource = serializers.ChoiceField(choices=Resource.choices)
    used = serializers.IntegerField()
    limit = serializers.IntegerField(help_text=_("-1 is unlimited."))
    custom = serializers.BooleanField(help_text=_("The project's own limit (else the region's default)."))


class RegionQuotasSerializer(serializers.Serializer):
    region = serializers.CharField(source="region.slug")
    region_name = serializers.CharField(source="region.name")
    quotas = QuotaLineSerializer(many=True, source="lines")
    pushed_at = serializers.DateTimeField(allow_null=True)


class QuotaRequestSerializer(serializers.ModelSerializer):
    project = serializers.UUIDField(source="project_id", read_only=True)
    region = serializers.CharField(source="region.slug", read_only=True)
    requested_by = serializers.EmailField(source="requested_by.email", read_only=True, allow_null=True)
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = QuotaRequest
        fields = [
            "id",
            "project",
            "region",
            "resource",
            "current_limit",
            "requested_limit",
            "reason",
            "status",
            "requested_by",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_reason",
        ]
        read_only_fields = fields

    def get_decided_by(self, request: QuotaRequest) -> str | None:
        """Operators are named to operators only: tenants see that an operator decided."""
        return request.decided_by.email if request.decided_by and self.context.get("operator") else None


class QuotaRequestCreateSerializer(serializers.Serializer):
    region = serializers.SlugField(help_text=_("The region's code."))
    resource = serializers.ChoiceField(choices=Resource.choices)
    requested_limit = serializers.IntegerField(help_text=_("The new limit in total (-1: unlimited)."))
    reason = serializers.CharField(max_length=actions.REASON_MAX)


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=actions.REASON_MAX, help_text=_("Required to reject.")
    )


# Limits by resource; on a project, null follows the region's default.
LimitsSerializer = type(
    "LimitsSerializer",
    (serializers.Serializer,),
    {
        resource.value: serializers.IntegerField(
            required=False, allow_null=True, min_value=-1, help_text=resource.label
        )
        for resource in Resource
    },
)


# Tenants -------------------------------------------------------------------------------------------------------------


def _region(slug: str) -> Region:
    region = Region.objects.filter(slug=slug).first()
    if region is None:
        raise NotFound()
    return region


@extend_schema(tags=["quotas"])
class ProjectQuotasView(APIView):
    @extend_schema(summary="The project's quotas in each region it uses", responses=RegionQuotasSerializer(many=True))
    def get(self, request: Request, project_id: uuid.UUID) -> Response:
        _scope, project = project_scope(request, project_id)
        return Response(RegionQuotasSerializer(quotas.overview(project), many=True).data)


@extend_schema(tags=["quotas"])
class QuotaRequestListView(generics.ListAPIView):
    serializer_class = QuotaRequestSerializer
    pagination_class = CursorPagination

    def get_queryset(self) -> QuerySet[QuotaRequest]:
        _scope, project = project_scope(self.request, self.kwargs["project_id"])
        return QuotaRequest.objects.filter(project=project).select_related("region", "requested_by", "decided_by")

    @extend_schema(summary="The project's quota increase requests, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Ask for a higher limit (members and above)",
        request=QuotaRequestCreateSerializer,
        responses={201: QuotaRequestSerializer},
    )
    @idempotent
    def post(self, request: Request, project_id: uuid.UUID) -> Response:
        _scope, project = project_scope(request, project_id)
        data = QuotaRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = actions.request_quota(
            actor=api_actor(request),
            project=project,
            region=_region(data.validated_data["region"]),
            resource=data.validated_data["resource"],
            requested_limit=data.validated_data["requested_limit"],
            reason=data.validated_data["reason"],
        )
        location = reverse("api:quota_request", args=[project.pk, created.pk])
        return Response(QuotaRequestSerializer(created).data, status=201, headers={"Location": location})


def _project_request(request: Request, project_id: uuid.UUID, request_id: uuid.UUID) -> QuotaRequest:
    _scope, project = project_scope(request, project_id)
    found = QuotaRequest.objects.select_related("project__organization", "region").filter(
        pk=request_id, project=project
    )
    item = found.first()
    if item is None:
        raise NotFound()
    return item


@extend_schema(tags=["quotas"])
class QuotaRequestDetailView(APIView):
    @extend_schema(summary="A quota increase request", responses=QuotaRequestSerializer)
    def get(self, request: Request, project_id: uuid.UUID, request_id: uuid.UUID) -> Response:
        return Response(QuotaRequestSerializer(_project_request(request, project_id, request_id)).data)


@extend_schema(tags=["quotas"])
class QuotaRequestWithdrawView(APIView):
    @extend_schema(
        summary="Withdraw a pending request (who asked, or an admin)", request=None, responses=QuotaRequestSerializer
    )
    def post(self, request: Request, project_id: uuid.UUID, request_id: uuid.UUID) -> Response:
        item = actions.cancel_quota_request(
            actor=api_actor(request), request=_project_request(request, project_id, request_id)
        )
        return Response(QuotaRequestSerializer(item).data)


# Operators -----------------------------------------------------------------------------------------------------------


@extend_schema(
    tags=["operator"],
    parameters=[OpenApiParameter("status", str, enum=QuotaRequest.Status.values, description="pending by default")],
)
class OperatorQuotaRequestListView(generics.ListAPIView):
    serializer_class = QuotaRequestSerializer
    pagination_class = CursorPagination
    permission_classes = [OperatorOnly]

    def get_queryset(self) -> QuerySet[QuotaRequest]:
        status = self.request.query_params.get("status", QuotaRequest.Status.PENDING)
        rows = QuotaRequest.objects.select_related("region", "requested_by", "decided_by")
        return rows.filter(status=status) if status in QuotaRequest.Status.values else rows.none()

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "operator": True}

    @extend_schema(summary="Quota increase requests of every tenant (operators)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class _Decide(APIView):
    permission_classes = [OperatorOnly]
    approve = True

    def post(self, request: Request, request_id: uuid.UUID) -> Response:
        item = get_object_or_404(QuotaRequest, pk=request_id)
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reason = data.validated_data.get("reason", "")
        if self.approve:
            item = actions.approve_quota_request(actor=operator_actor(request), request=item, note=reason)
        else:
            item = actions.reject_quota_request(actor=operator_actor(request), request=item, reason=reason)
        return Response(QuotaRequestSerializer(item, context={"operator": True}).data)


@extend_schema(tags=["operator"])
class OperatorQuotaRequestApproveView(_Decide):
    approve = True

    @extend_schema(
        summary="Approve: the limit changes and is pushed to the cloud (operators)",
        request=DecisionSerializer,
        responses=QuotaRequestSerializer,
    )
    def post(self, request: Request, request_id: uuid.UUID) -> Response:
        return super().post(request, request_id)


@extend_schema(tags=["operator"])
class OperatorQuotaRequestRejectView(_Decide):
    approve = False

    @extend_schema(
        summary="Reject, with a reason (operators)", request=DecisionSerializer, responses=QuotaRequestSerializer
    )
    def post(self, request: Request, request_id: uuid.UUID) -> Response:
        return super().post(request, request_id)


@extend_schema(tags=["operator"])
class OperatorProjectQuotasView(APIView):
    permission_classes = [OperatorOnly]

    @extend_schema(summary="A project's quotas in each region (operators)", responses=RegionQuotasSerializer(many=True))
    def get(self, request: Request, project_id: uuid.UUID) -> Response:
        project = get_object_or_404(Project, pk=project_id)
        return Response(RegionQuotasSerializer(quotas.overview(project), many=True).data)

    @extend_schema(
        summary="Set a project's own limits in a region; null follows the default (operators)",
        parameters=[OpenApiParameter("region", str, required=True, description="The region's code.")],
        request=LimitsSerializer,
        responses=RegionQuotasSerializer(many=True),
    )
    def patch(self, request: Request, project_id: uuid.UUID) -> Response:
        project = get_object_or_404(Project, pk=project_id)
        region = _region(request.query_params.get("region", ""))
        data = LimitsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actions.set_project_quota(
            actor=operator_actor(request), project=project, region=region, limits=data.validated_data
        )
        return Response(RegionQuotasSerializer(quotas.overview(project), many=True).data)


@extend_schema(tags=["operator"])
class OperatorRegionDefaultsView(APIView):
    permission_classes = [OperatorOnly]

    @extend_schema(summary="A region's default quotas (operators)", responses=LimitsSerializer)
    def get(self, request: Request, region_slug: str) -> Response:
        defaults = quotas.region_defaults(_region(region_slug))
        return Response({resource: getattr(defaults, resource) for resource in Resource.values})

    @extend_schema(
        summary="Change a region's default quotas (operators)", request=LimitsSerializer, responses=LimitsSerializer
    )
    def patch(self, request: Request, region_slug: str) -> Response:
        region = _region(region_slug)
        data = LimitsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        defaults = actions.set_region_quota_defaults(
            actor=operator_actor(request), region=region, limits=data.validated_data
        )
        return Response({resource: getattr(defaults, resource) for resource in Resource.values})


project = "v1/projects/<uuid:project_id>/"

urlpatterns = [
    path(f"{project}quotas/", ProjectQuotasView.as_view(), name="quotas"),
    path(f"{project}quota-requests/", QuotaRequestListView.as_view(), name="quota_requests"),
    path(f"{project}quota-requests/<uuid:request_id>/", QuotaRequestDetailView.as_view(), name="quota_request"),
    path(
        f"{project}quota-requests/<uuid:request_id>/withdraw/",
        QuotaRequestWithdrawView.as_view(),
        name="quota_request_withdraw",
    ),
    path("v1/operator/quota-requests/", OperatorQuotaRequestListView.as_view(), name="operator_quota_requests"),
    path(
        "v1/operator/quota-requests/<uuid:request_id>/approve/",
        OperatorQuotaRequestApproveView.as_view(),
        name="operator_quota_request_approve",
    ),
    path(
        "v1/operator/quota-requests/<uuid:request_id>/reject/",
        OperatorQuotaRequestRejectView.as_view(),
        name="operator_quota_request_reject",
    ),
    path(
        "v1/operator/projects/<uuid:project_id>/quotas/",
        OperatorProjectQuotasView.as_view(),
        name="operator_project_quotas",
    ),
    path(
        "v1/operator/regions/<slug:region_slug>/quota-defaults/",
        OperatorRegionDefaultsView.as_view(),
        name="operator_region_quota_defaults",
    ),
]
