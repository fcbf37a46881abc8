"""The operators' regions pages (/operators/regions/…)."""

from django.urls import path

from infra import backoffice

urlpatterns = [
    path("operators/regions/", backoffice.regions, name="operator_regions"),
    path("operators/regions/<slug:region_slug>/", backoffice.region_detail, name="operator_region"),
    path("operators/regions/<slug:region_slug>/check/", backoffice.region_check, name="operator_region_check"),
    path("operators/regions/<slug:region_slug>/enable/", backoffice.region_enable, name="operator_region_enable"),
    path("operators/regions/<slug:region_slug>/disable/", backoffice.region_disable, name="operator_region_disable"),
]
