"""A project's server list and its bulk operations (/o/<org>/<project>/servers/)."""

from django.urls import URLPattern, path

from infra import views_servers as views

project = "o/<slug:org_slug>/<slug:project_slug>/"

urlpatterns: list[URLPattern] = [
    path(f"{project}servers/", views.servers, name="servers"),
    path(f"{project}servers/bulk/", views.servers_bulk, name="servers_bulk"),
]
