"""The catalog pages: tenants' (a project's images and instance types, per open region) and operators'
(/operators/catalog/…: each region's instance types and images, curated)."""

from django.urls import path

from infra import backoffice_catalog as operator
from infra import views_catalog as tenant

project = "o/<slug:org_slug>/<slug:project_slug>/"
region = "operators/catalog/<slug:region_slug>/"

urlpatterns = [
    path(f"{project}images/", tenant.images, name="images"),
    path(f"{project}instance-types/", tenant.flavors, name="flavors"),
    path("operators/catalog/", operator.catalog, name="operator_catalog"),
    path(f"{region}flavors/", operator.flavors, name="operator_catalog_flavors"),
    path(f"{region}images/", operator.images, name="operator_catalog_images"),
    path(f"{region}flavors/bulk/", operator.bulk, {"kind": "flavors"}, name="operator_catalog_flavors_bulk"),
    path(f"{region}images/bulk/", operator.bulk, {"kind": "images"}, name="operator_catalog_images_bulk"),
    path(
        f"{region}flavors/<uuid:item_id>/edit/", operator.edit, {"kind": "flavors"}, name="operator_catalog_flavor_edit"
    ),
    path(f"{region}images/<uuid:item_id>/edit/", operator.edit, {"kind": "images"}, name="operator_catalog_image_edit"),
    path(
        f"{region}flavors/<uuid:item_id>/<slug:op>/",
        operator.item_op,
        {"kind": "flavors"},
        name="operator_catalog_flavor_op",
    ),
    path(
        f"{region}images/<uuid:item_id>/<slug:op>/",
        operator.item_op,
        {"kind": "images"},
        name="operator_catalog_image_op",
    ),
]
