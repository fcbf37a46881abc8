"""The launch wizard (/o/<org>/<project>/servers/launch/…): the page, and the user data check it asks as one types."""

from django.urls import URLPattern, path

from infra import views_launch as views

project = "o/<slug:org_slug>/<slug:project_slug>/"

urlpatterns: list[URLPattern] = [
    path(f"{project}servers/launch/", views.launch, name="server_launch"),
    path(f"{project}servers/launch/check/", views.launch_check, name="server_launch_check"),
]
