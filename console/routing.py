"""WebSocket routes: the live channel of the organisation and project pages (console/consumers.py)."""

from django.urls import URLPattern, path

from console.consumers import LiveConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/live/org/<uuid:pk>/", LiveConsumer.as_asgi(), {"kind": "org"}),
    path("ws/live/project/<uuid:pk>/", LiveConsumer.as_asgi(), {"kind": "project"}),
]
