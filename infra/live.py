"""The live channel's renderers of servers (registered in `InfraConfig.ready`).

An event `server` (a transition, a rename, a lock: `Server.transition` and the actions publish it) is rendered for
each connection of the project's pages as `hx-swap-oob` fragments: the list's row (`views_servers.live_row`) and the
detail page's parts (`views_server.live_detail`). A page holds the elements it shows; htmx ignores fragments whose
target is not on the page. `server_console` (the console log a task fetched) goes to the detail page only;
`cloud_project` (the project set up in a region) to the project's Regions page.
"""

from __future__ import annotations

from console.core import live
from tenants.scope import ProjectScope

SERVER = "server"
CONSOLE_LOG = "server_console"
CLOUD_PROJECT = "cloud_project"  # the project's Regions page


def render_server(page: object, pk: str) -> str | None:
    from infra import servers_ui, views_server, views_servers

    if not isinstance(page, ProjectScope):
        return None
    server = servers_ui.project_servers(page, include_deleted=True).filter(pk=pk).first()
    if server is None:
        return None
    parts = (views_servers.live_row(page, server), views_server.live_detail(page, server))
    return "".join(part for part in parts if part) or None


def render_console_log(page: object, pk: str) -> str | None:
    from infra import views_server

    if not isinstance(page, ProjectScope):
        return None
    return views_server.live_console_log(page, pk)


def render_cloud_project(page: object, pk: str) -> str | None:
    from infra import views_regions

    return views_regions.live_region(page, pk)


def register() -> None:
    live.register(SERVER, render_server)
    live.register(CONSOLE_LOG, render_console_log)
    live.register(CLOUD_PROJECT, render_cloud_project)
