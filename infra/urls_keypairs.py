"""A project's key pairs pages (/o/<org>/<project>/keypairs/…)."""

from django.urls import URLPattern, path

from infra import views_keypairs as views

project = "o/<slug:org_slug>/<slug:project_slug>/"

urlpatterns: list[URLPattern] = [
    path(f"{project}keypairs/", views.keypairs, name="keypairs"),
    path(f"{project}keypairs/import/", views.keypair_import, name="keypair_import"),
    path(f"{project}keypairs/generate/", views.keypair_generate, name="keypair_generate"),
    path(f"{project}keypairs/<uuid:keypair_id>/", views.keypair, name="keypair"),
    path(f"{project}keypairs/<uuid:keypair_id>/delete/", views.keypair_delete, name="keypair_delete"),
]
