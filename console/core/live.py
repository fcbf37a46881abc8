"""The live channel's sending side: small messages (what changed, by id; never HTML), sent after commit.

Groups are named `org.<uuid>`, `project.<uuid>` and `user.<id>`. An action (or a guarded state transition) says
what changed, in its own transaction:

    live.publish(project, "project", project.pk)          # anything with a `live_group`, or a group name
    live.close_user(user.pk, organization.pk)             # the user was removed: close their sockets there

Nothing leaves before the transaction commits, and nothing at all if it rolls back. `LiveConsumer`
(console/consumers.py) renders each event for its own connection (the user's language, time zone and current
role) with the renderer registered for the event's kind. An app adds a kind without touching the consumer:

    live.register("server", render_server)   # e.g. in infra's AppConfig.ready

A renderer is called in a worker thread, inside the connection's language and time zone, as
`renderer(scope, pk)`: `scope` is the connection's `tenants.scope.OrganizationScope` (or `ProjectScope`), re-read
for this event; it loads the object *within that scope* (one query) and returns fragment HTML with `hx-swap-oob`
(one or more elements), or None when this connection should get nothing.

This module imports no app: only Django and Channels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

EVENT = "live.event"  # handled by LiveConsumer.live_event
CLOSE = "live.close"  # handled by LiveConsumer.live_close

# WebSocket close codes. htmx's ws extension reconnects (with backoff) after 1006, 1011, 1012 and 1013 only, so a
# refused or removed member's page does not knock again.
CLOSE_NOT_SIGNED_IN = 4401
CLOSE_NOT_A_MEMBER = 4403  # also: the scope does not exist (the same answer, as a page's 404)
CLOSE_RESTART = 1012  # the server asks the browser to come back (it does, with backoff)

Renderer = Callable[[Any, str], str | None]
_renderers: dict[str, Renderer] = {}


class HasLiveGroup(Protocol):
    @property
    def live_group(self) -> str: ...


def org_group(organization_id: UUID | str) -> str:
    return f"org.{organization_id}"


def project_group(project_id: UUID | str) -> str:
    return f"project.{project_id}"


def user_group(user_id: int | str) -> str:
    return f"user.{user_id}"


def group_name(scope: HasLiveGroup | str) -> str:
    return scope if isinstance(scope, str) else scope.live_group


def socket_path(scope: HasLiveGroup | str) -> str:
    """Where a page's socket connects (console/routing.py): `/ws/live/org/<uuid>/` or `/ws/live/project/<uuid>/`."""
    kind, _dot, pk = group_name(scope).partition(".")
    if kind not in ("org", "project"):
        raise ValueError(f"pages watch an organisation or a project, not {kind!r}")
    return f"/ws/live/{kind}/{pk}/"


def register(kind: str, renderer: Renderer) -> None:
    """Render events of `kind` with `renderer(scope, pk) -> html | None` (see the module's docstring)."""
    _renderers[kind] = renderer


def renderer_for(kind: str) -> Renderer | None:
    return _renderers.get(kind)


def publish(scope: HasLiveGroup | str, kind: str, pk: object) -> None:
    """Tell the scope's group that the `kind` object `pk` changed, once the current transaction commits."""
    message = {"type": EVENT, "kind": kind, "pk": str(pk)}
    _send_on_commit(group_name(scope), message)


def close_user(user_id: int, organization_id: UUID | str) -> None:
    """Close the user's sockets on the organisation's pages (and its projects'), once the transaction commits."""
    message = {"type": CLOSE, "organization": str(organization_id)}
    _send_on_commit(user_group(user_id), message)


def _send_on_commit(group: str, message: dict[str, str]) -> None:
    # robust: the change is committed either way; a channel layer that is down must not turn it into an error
    # (pages do not depend on the socket, and the browser catches up on its next load).
    transaction.on_commit(lambda: send_now(group, message), robust=True)


def send_now(group: str, message: dict[str, str]) -> None:
    """Send to a group right away (callers want `publish`, which waits for the commit)."""
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(group, message)
