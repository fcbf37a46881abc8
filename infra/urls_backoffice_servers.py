"""The operators' all-tenants server list (/operators/servers/)."""

from django.urls import URLPattern, path

from infra import backoffice_servers as views

urlpatterns: list[URLPattern] = [
    path("operators/servers/", views.servers, name="operator_servers"),
]
