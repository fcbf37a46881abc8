"""WebSocket routes. The live channel (LiveConsumer at /ws/live/) is added by the live-updates work."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
