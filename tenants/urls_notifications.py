"""The signed-in user's notifications (tenants.views.notifications): personal, outside any organisation."""

from django.urls import path

from tenants.views import notifications

urlpatterns = [
    path("notifications/", notifications.notifications, name="notifications"),
    path("notifications/read-all/", notifications.notifications_read_all, name="notifications_read_all"),
    path("notifications/<uuid:notification_id>/", notifications.notification_open, name="notification_open"),
]
