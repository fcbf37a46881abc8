"""API endpoints: a project's servers (being written, issue 9)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
