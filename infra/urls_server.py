"""One server's pages (/o/<org>/<project>/servers/<uuid>/…): tabs and lifecycle operations."""

from django.urls import URLPattern, path

from infra import views_server as views

server = "o/<slug:org_slug>/<slug:project_slug>/servers/<uuid:server_id>/"

urlpatterns: list[URLPattern] = [
    path(server, views.server_detail, name="server"),
]
