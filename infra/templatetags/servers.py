"""Template helpers of the servers' pages: `{% load servers %}` then `{% server_status server %}`."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string

from infra import servers_ui
from infra.models import Server

register = template.Library()


@register.simple_tag
def server_status(server: Server, size: str = "") -> str:
    """The server's status badge, with a spinner while the console waits for the cloud (the live channel replaces
    the row or panel around it). `size="lg"` for page headers."""
    return render_to_string(
        "infra/servers/_status.html",
        {
            "server": server,
            "colour": servers_ui.status_colour(server.status),
            "transitional": servers_ui.is_transitional(server),
            "size": size,
        },
    )
