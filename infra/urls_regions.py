"""A project's regions page (/o/<org>/<project>/regions/…): the regions open to tenants and activating one."""

from django.urls import URLPattern, path

from infra import views_regions as views

project = "o/<slug:org_slug>/<slug:project_slug>/"

urlpatterns: list[URLPattern] = [
    path(f"{project}regions/", views.project_regions, name="project_regions"),
    path(
        f"{project}regions/<slug:region_slug>/activate/", views.project_region_activate, name="project_region_activate"
    ),
]
