"""The live channel's renderers of servers (registered in `InfraConfig.ready`).

An event `server` (a transition, a rename, a lock: `Server.transition` and the actions publish it) is rendered for
the connections of the project's pages as `hx-swap-oob` fragments in two messages: the list's row and the counts
above it (`views_servers.live_row`), and the detail page's parts (`views_server.live_detail`). A page holds the
elements it shows; htmx ignores fragments whose target is not on the page. `server_console` (the console log a task
fetched) goes to the detail page only; `cloud_project` (the project set up in a region) to the project's Regions
page.

All three are shared (`live.Shared`): rendered once per event for each variant of the connections watching (page,
language, time zone, role or operator visit), not once per connection. What they show depends on the user only
through their role (viewers and visiting operators get no operations; `servers_ui.offers`, `_card_context`), and for
a server's page on one thing more, said by `server_variant`: whether the server's key pair links to its page (owners
and admins see every key pair, members only their own). The fragments carry no CSRF token: console.js puts the
page's into a form when it is submitted (templates/base.html's meta tag), so forms sent live work as they are.

A server event loads the server and the list's counts once per project page (`load_server`), whatever the number of
variants.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from console.core import live
from infra.models import Server
from tenants.scope import ProjectScope

SERVER = "server"
CONSOLE_LOG = "server_console"
CLOUD_PROJECT = "cloud_project"  # the project's Regions page


@dataclass(frozen=True)
class ServerEvent:
    """What a server event shows, loaded once for every connection to the project's pages."""

    server: Server
    counts: dict[str, int]  # the counts above the list


def load_server(page: object, pk: str) -> ServerEvent | None:
    """The server `pk` of the page's project (a deleted one too: its row and page say so), and the list's counts;
    None for an organisation's page or another project's server. Reads the project only, never the role."""
    from infra import servers_ui, views_servers

    if not isinstance(page, ProjectScope):
        return None
    try:
        server = servers_ui.project_servers(page, include_deleted=True).filter(pk=pk).first()
    except (ValidationError, ValueError):
        return None
    if server is None:
        return None
    return ServerEvent(server, views_servers.project_counts(page))


def server_variant(page: ProjectScope, event: ServerEvent) -> Hashable:
    """What a server's fragments show of the user beyond their role: the link to the server's key pair, if they may
    open it (no query: the key pair is loaded with the server)."""
    from infra import views_server

    return views_server.keypair_url(page, event.server)


def render_server(page: ProjectScope, event: ServerEvent) -> list[str]:
    """The list's row and counts, and the server page's parts, as two messages: htmx parses a message that starts
    with a table row as a table, where the header's forms would come out empty."""
    from infra import views_server, views_servers

    parts = (
        views_servers.live_row(page, event.server, counts=event.counts),
        views_server.live_detail(page, event.server),
    )
    return [part for part in parts if part]


def render_console_log(page: object, pk: str) -> str | None:
    from infra import views_server

    if not isinstance(page, ProjectScope):
        return None
    return views_server.live_console_log(page, pk)


def render_cloud_project(page: object, pk: str) -> str | None:
    from infra import views_regions

    return views_regions.live_region(page, pk)


def register() -> None:
    live.register(SERVER, live.Shared(load=load_server, render=render_server, variant=server_variant))
    live.register(CONSOLE_LOG, live.Shared(render=render_console_log))
    live.register(CLOUD_PROJECT, live.Shared(render=render_cloud_project))
