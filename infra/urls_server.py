"""One server's pages (/o/<org>/<project>/servers/<uuid>/…): tabs and lifecycle operations."""

from django.urls import URLPattern, path

from infra import views_server as views

server = "o/<slug:org_slug>/<slug:project_slug>/servers/<uuid:server_id>/"

urlpatterns: list[URLPattern] = [
    path(server, views.server_detail, name="server"),
    path(f"{server}network/", views.server_network, name="server_network"),
    path(f"{server}activity/", views.server_activity, name="server_activity"),
    path(f"{server}console-log/", views.server_console_log, name="server_console_log"),
    path(f"{server}header/", views.server_header, name="server_header"),
    path(f"{server}resize/", views.server_resize, name="server_resize"),
    path(f"{server}rebuild/", views.server_rebuild, name="server_rebuild"),
    path(f"{server}rename/", views.server_rename, name="server_rename"),
    path(f"{server}do/<slug:op>/", views.server_op, name="server_op"),
]
