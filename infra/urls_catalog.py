"""The catalog pages (tenant and operator)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
