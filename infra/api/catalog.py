"""API endpoints: regions and their catalog.

Tenants (any signed-in user or API token): the regions open to tenants, and what each offers — instance types and
images shown to tenants, still in the cloud and (images) active, in the operators' order.
Operators (`OperatorOnly`; anyone else gets 404): every item of a region (hidden and deleted ones too), and PATCH to
curate one — the same actions as the back office's pages (`infra.actions.catalog`).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from infra.actions import catalog as actions
from infra.catalog import all_flavors, all_images, offered_flavors, offered_images, open_regions
from infra.models import Flavor, Image, ImageLogo, Region
from infra.providers.base import Health
from tenants.api.permissions import OperatorOnly
from tenants.api.scope import operator_actor
from tenants.audit import Actor
from tenants.policy import NotFound

# Serializers ---------------------------------------------------------------------------------------------------------


class RegionSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="get_provider_display", help_text="The provider's label, e.g. Sandbox.")
    health = serializers.ChoiceField(choices=Health.choices, help_text="As the last health check found it.")
    available = serializers.BooleanField(
        source="is_available", help_text="Whether new resources may be created here now (open and not down)."
    )

    class Meta:
        model = Region
        fields = ["slug", "name", "provider", "health", "available"]


class FlavorSerializer(serializers.ModelSerializer):
    label = serializers.CharField(help_text="The operators' label, e.g. General purpose (may be blank).")
    is_default = serializers.BooleanField(help_text="The region's default instance type.")

    class Meta:
        model = Flavor
        fields = ["id", "name", "label", "vcpus", "ram_mb", "disk_gb", "is_default"]


class ImageSerializer(serializers.ModelSerializer):
    name = serializers.CharField(
        source="display_name", help_text="The display name (the cloud's name unless labelled)."
    )
    cloud_name = serializers.CharField(source="name", help_text="The image's name in the cloud.")
    os = serializers.CharField(source="os_name", help_text="The operating system shown, e.g. Ubuntu.")
    version = serializers.CharField(source="shown_version", help_text="The operating system's version shown.")
    logo = serializers.CharField(source="shown_logo", help_text="ubuntu, debian, redhat, windows, linux, or blank.")
    is_default = serializers.BooleanField(help_text="The region's default image.")

    class Meta:
        model = Image
        fields = [
            "id",
            "name",
            "cloud_name",
            "os",
            "version",
            "logo",
            "size_bytes",
            "min_disk_gb",
            "min_ram_mb",
            "is_default",
        ]


class OperatorFlavorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Flavor
        fields = [
            "id",
            "provider_id",
            "name",
            "label",
            "vcpus",
            "ram_mb",
            "disk_gb",
            "visible",
            "position",
            "is_default",
            "synced_at",
            "deleted_at",
        ]


class OperatorImageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Image
        fields = [
            "id",
            "provider_id",
            "name",
            "label",
            "status",
            "size_bytes",
            "min_disk_gb",
            "min_ram_mb",
            "os_distro",
            "os_version",
            "os_label",
            "version_label",
            "logo",
            "suggested_logo",
            "visible",
            "position",
            "is_default",
            "synced_at",
            "deleted_at",
        ]

    suggested_logo = serializers.CharField(read_only=True, help_text="The logo its operating system suggests.")


class FlavorUpdateSerializer(serializers.Serializer):
    visible = serializers.BooleanField(required=False, help_text="Shown to tenants.")
    label = serializers.CharField(required=False, allow_blank=True, max_length=60)
    position = serializers.IntegerField(required=False, min_value=1, help_text="Its place in the order, 1 first.")
    is_default = serializers.BooleanField(required=False, help_text="Make it (or stop it being) the default.")


class ImageUpdateSerializer(FlavorUpdateSerializer):
    label = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text="Display name.")
    os_label = serializers.CharField(required=False, allow_blank=True, max_length=50)
    version_label = serializers.CharField(required=False, allow_blank=True, max_length=50)
    logo = serializers.ChoiceField(choices=[("", "automatic"), *ImageLogo.choices], required=False, allow_blank=True)


# Tenants -------------------------------------------------------------------------------------------------------------


def _open_region_or_404(region_slug: str) -> Region:
    region = open_regions().filter(slug=region_slug).first()
    if region is None:
        raise NotFound()
    return region


@extend_schema(tags=["catalog"])
class RegionListView(generics.ListAPIView):
    serializer_class = RegionSerializer

    def get_queryset(self) -> QuerySet[Region]:
        return open_regions()

    @extend_schema(summary="List the regions open to tenants")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["catalog"])
class RegionFlavorListView(generics.ListAPIView):
    serializer_class = FlavorSerializer

    def get_queryset(self) -> QuerySet[Flavor]:
        return offered_flavors(_open_region_or_404(self.kwargs["region_slug"]))

    @extend_schema(summary="List the instance types offered in a region, in order")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["catalog"])
class RegionImageListView(generics.ListAPIView):
    serializer_class = ImageSerializer

    def get_queryset(self) -> QuerySet[Image]:
        return offered_images(_open_region_or_404(self.kwargs["region_slug"]))

    @extend_schema(summary="List the images offered in a region, in order")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# Operators -----------------------------------------------------------------------------------------------------------


def _region_or_404(region_slug: str) -> Region:
    region = Region.objects.filter(slug=region_slug).first()
    if region is None:
        raise NotFound()
    return region


def _item_or_404(model: type[Flavor] | type[Image], region_slug: str, item_id: uuid.UUID) -> Flavor | Image:
    item = model.objects.filter(region__slug=region_slug, pk=item_id).select_related("region").first()
    if item is None:
        raise NotFound()
    return item


def apply_changes(actor: Actor, item: Flavor | Image, data: dict[str, Any]) -> Flavor | Image:
    """A PATCH's changes, through the same actions as the pages, in one transaction (all or nothing)."""
    with transaction.atomic():
        if "visible" in data:
            item = actions.set_visible(actor=actor, item=item, visible=data["visible"])
        label_keys = ("label",) if isinstance(item, Flavor) else ("label", "os_label", "version_label", "logo")
        if any(key in data for key in label_keys):
            values = {key: data.get(key, getattr(item, key)) for key in label_keys}
            if isinstance(item, Flavor):
                item = actions.update_flavor(actor=actor, flavor=item, **values)
            else:
                item = actions.update_image(actor=actor, image=item, **values)
        if "position" in data:
            item = actions.set_position(actor=actor, item=item, position=data["position"])
        if data.get("is_default") is True:
            item = actions.set_default(actor=actor, item=item)
        elif data.get("is_default") is False:
            item = actions.clear_default(actor=actor, item=item)
    item.refresh_from_db()
    return item


@extend_schema(tags=["operator"])
class OperatorFlavorListView(generics.ListAPIView):
    permission_classes = [OperatorOnly]
    serializer_class = OperatorFlavorSerializer

    def get_queryset(self) -> QuerySet[Flavor]:
        return all_flavors(_region_or_404(self.kwargs["region_slug"]))

    @extend_schema(summary="List every instance type of a region, hidden and deleted ones too (operators)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["operator"])
class OperatorImageListView(generics.ListAPIView):
    permission_classes = [OperatorOnly]
    serializer_class = OperatorImageSerializer

    def get_queryset(self) -> QuerySet[Image]:
        return all_images(_region_or_404(self.kwargs["region_slug"]))

    @extend_schema(summary="List every image of a region, hidden and deleted ones too (operators)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["operator"])
class OperatorFlavorDetailView(APIView):
    permission_classes = [OperatorOnly]

    @extend_schema(summary="An instance type of a region (operators)", responses=OperatorFlavorSerializer)
    def get(self, request: Request, region_slug: str, flavor_id: uuid.UUID) -> Response:
        return Response(OperatorFlavorSerializer(_item_or_404(Flavor, region_slug, flavor_id)).data)

    @extend_schema(
        summary="Curate an instance type: shown, label, order, default (operators)",
        request=FlavorUpdateSerializer,
        responses=OperatorFlavorSerializer,
    )
    def patch(self, request: Request, region_slug: str, flavor_id: uuid.UUID) -> Response:
        item = _item_or_404(Flavor, region_slug, flavor_id)
        data = FlavorUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = apply_changes(operator_actor(request), item, data.validated_data)
        return Response(OperatorFlavorSerializer(item).data)


@extend_schema(tags=["operator"])
class OperatorImageDetailView(APIView):
    permission_classes = [OperatorOnly]

    @extend_schema(summary="An image of a region (operators)", responses=OperatorImageSerializer)
    def get(self, request: Request, region_slug: str, image_id: uuid.UUID) -> Response:
        return Response(OperatorImageSerializer(_item_or_404(Image, region_slug, image_id)).data)

    @extend_schema(
        summary="Curate an image: shown, labels, logo, order, default (operators)",
        request=ImageUpdateSerializer,
        responses=OperatorImageSerializer,
    )
    def patch(self, request: Request, region_slug: str, image_id: uuid.UUID) -> Response:
        item = _item_or_404(Image, region_slug, image_id)
        data = ImageUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = apply_changes(operator_actor(request), item, data.validated_data)
        return Response(OperatorImageSerializer(item).data)


region = "v1/regions/<slug:region_slug>/"
operator_region = "v1/operator/regions/<slug:region_slug>/"

urlpatterns: list[URLPattern] = [
    path("v1/regions/", RegionListView.as_view(), name="regions"),
    path(f"{region}flavors/", RegionFlavorListView.as_view(), name="region_flavors"),
    path(f"{region}images/", RegionImageListView.as_view(), name="region_images"),
    path(f"{operator_region}flavors/", OperatorFlavorListView.as_view(), name="operator_region_flavors"),
    path(
        f"{operator_region}flavors/<uuid:flavor_id>/",
        OperatorFlavorDetailView.as_view(),
        name="operator_region_flavor",
    ),
    path(f"{operator_region}images/", OperatorImageListView.as_view(), name="operator_region_images"),
    path(
        f"{operator_region}images/<uuid:image_id>/",
        OperatorImageDetailView.as_view(),
        name="operator_region_image",
    ),
]
