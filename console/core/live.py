"""The live channel's sending side: small messages (what changed, by id; never HTML), sent after commit.

Groups are named `org.<uuid>`, `project.<uuid>` and `user.<id>`. An action (or a guarded state transition) says
what changed, in its own transaction:

    live.publish(project, "project", project.pk)          # anything with a `live_group`, or a group name
    live.close_user(user.pk, organization.pk)             # the user was removed: close their sockets there

Nothing leaves before the transaction commits, and nothing at all if it rolls back. Each message carries an event
id (`id`, new for every publish). `LiveConsumer` (console/consumers.py) checks, for every event, that each of its
connections may still watch (the user's current role; a removed member, or a session that ended, gets nothing and is
closed), then renders the event with what is registered for its kind. An app adds a kind without touching the
consumer:

    live.register("activity", render_activity)                       # rendered for each connection
    live.register("server", live.Shared(load=..., render=..., variant=...))   # rendered once per variant

A plain renderer is called in a worker thread, inside the connection's language and time zone, as
`renderer(scope, pk)`: `scope` is the connection's `tenants.scope.OrganizationScope` (or `ProjectScope`), re-read
for this event; it loads the object *within that scope* and returns fragment HTML with `hx-swap-oob` (one or more
elements), or None when this connection should get nothing. It may depend on anything about the user. It may also
return a list of such fragments: each goes in its own WebSocket message, which htmx parses on its own (a message
that starts with a table row is parsed as a table, where a `<form>` outside the row's cells comes out empty: send a
row and the other parts of a page apart).

A `Shared` kind is rendered once per event, per server process, for every *variant*: the page (its organisation or
project), the language, the time zone, the role (or an operator's visit), and what the kind's `variant` adds; the
connections of one variant get the same HTML. So 50 people watching a project cost one load and a render per
(language, role) rather than 50 of each. Sharing is opt-in: a kind whose fragments depend on the user in another way
(their own notifications, their own key pairs) must either say so in `variant` or stay a plain renderer.

This module imports no app: only Django and Channels.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
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

Fragments = str | list[str] | None  # one message, or one message each (see the module's docstring)
Renderer = Callable[[Any, str], Fragments]


def _the_pk(scope: Any, pk: str) -> str:
    return pk


def _no_variant(scope: Any, loaded: Any) -> Hashable:
    return None


@dataclass(frozen=True)
class Shared:
    """How to render a kind once per variant instead of once per connection (see the module's docstring).

    - `load(scope, pk)`: the object, loaded within the scope, once per event for every connection of the same page
      (organisation or project). It may read only the scope's organisation and project, never its role or user,
      and returns no text (it runs in no particular language); None: nothing to send. Default: the pk itself (then
      `render` loads, once per variant).
    - `variant(scope, loaded)`: what else, beyond the page, language, time zone and role, the fragments depend on
      (hashable; None if nothing). Called in the event loop for each connection: it must not query the database.
    - `render(scope, loaded)`: the fragments (or None), in a worker thread, inside the variant's language and time
      zone, with the scope of one of the variant's connections.
    """

    render: Callable[[Any, Any], Fragments]
    load: Callable[[Any, str], Any] = _the_pk
    variant: Callable[[Any, Any], Hashable] = _no_variant


_renderers: dict[str, Renderer | Shared] = {}


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


def register(kind: str, renderer: Renderer | Shared) -> None:
    """Render events of `kind` with `renderer(scope, pk) -> html | None` for each connection, or share them between
    the connections of a variant (`Shared`; see the module's docstring)."""
    _renderers[kind] = renderer


def renderer_for(kind: str) -> Renderer | Shared | None:
    return _renderers.get(kind)


def publish(scope: HasLiveGroup | str, kind: str, pk: object) -> None:
    """Tell the scope's group that the `kind` object `pk` changed, once the current transaction commits. The message
    gets an event id, by which the receiving processes render it once per variant."""
    message = {"type": EVENT, "kind": kind, "pk": str(pk), "id": uuid.uuid4().hex}
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
