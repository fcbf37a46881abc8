"""The live channel: one WebSocket per open dashboard, which renders every event for its own user.

A page connects to `/ws/live/org/<uuid>/` or `/ws/live/project/<uuid>/` (htmx's ws extension, `ws-connect`). The
consumer accepts members of that organisation (and operators, who visit tenants read-only), joins the page's group
(`org.<uuid>` or `project.<uuid>`) and the user's own (`user.<id>`), and turns each event (`console.core.live`:
a kind and an id, never HTML) into `hx-swap-oob` fragments in the user's language and time zone, with their role
as it is *now*: the scope is re-read for every event (one query), so a role change shows on the next event, and a
removed member, or a session signed out meanwhile, gets nothing more: the socket is closed. Every object is loaded
within the connection's scope, so an id from a message or the client is never trusted.

Refusals are closed with a 44xx code after the handshake (4401 not signed in, 4403 not a member or no such scope:
the same answer for both, as pages answer 404), so that the browser does not knock again; htmx's ws extension
reconnects by itself, with backoff, only after a dropped connection or a server restart (1006, 1011-1013).
"""

from __future__ import annotations

import logging
import zoneinfo
from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import Exists, OuterRef, Subquery
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation.trans_real import parse_accept_lang_header

from console.core import live
from tenants import feed
from tenants.models import Membership, Organization, Project, User
from tenants.scope import OrganizationScope, ProjectScope

logger = logging.getLogger(__name__)

GONE = object()  # the user may no longer watch this scope
DATABASE_SESSION_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


def load_scope(
    user: User,
    *,
    organization_id: UUID | None = None,
    project_id: UUID | None = None,
    session_key: str | None = None,
) -> Any:
    """The user's scope on an organisation (or project) page, read now, in one query: an `OrganizationScope` /
    `ProjectScope` as the page has, or None when the user is neither a member nor an operator (or it is gone).
    With `session_key` (database sessions), also None once that session has ended (signed out, or ended from the
    account's sessions page)."""
    role = Subquery(
        Membership.objects.filter(organization=OuterRef("organization_id" if project_id else "pk"), user=user).values(
            "role"
        )[:1]
    )
    annotations: dict[str, Any] = {"viewer_role": role}
    if session_key is not None:
        annotations["signed_in"] = Exists(
            Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now())
        )
    project = None
    if project_id is not None:
        project = Project.objects.select_related("organization").annotate(**annotations).filter(pk=project_id).first()
        found: Project | Organization | None = project
        organization = project.organization if project is not None else None
    else:
        organization = Organization.objects.annotate(**annotations).filter(pk=organization_id).first()
        found = organization
    if found is None or (session_key is not None and not found.signed_in):
        return None
    member_role = found.viewer_role
    if member_role:
        # The role is all a scope reads from its membership: no second query for the row itself.
        membership: Membership | None = Membership(user=user, organization=organization, role=member_role)
        operator_visit = False
    elif user.is_operator:
        membership, operator_visit = None, True
    else:
        return None
    if project is not None:
        return ProjectScope(
            organization=organization, membership=membership, operator_visit=operator_visit, project=project
        )
    return OrganizationScope(organization=organization, membership=membership, operator_visit=operator_visit)


def language_for(user: User, scope: dict[str, Any]) -> str:
    """The connection's language, as `tenants.middleware` and Django's LocaleMiddleware choose a page's: the
    user's choice, else the language cookie, else the browser's Accept-Language, else the default."""
    supported = dict(settings.LANGUAGES)
    if user.language in supported:
        return user.language
    cookie = scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in supported:
        return cookie
    headers = dict(scope.get("headers") or [])
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    for code, _quality in parse_accept_lang_header(accept):
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def zone_for(user: User) -> zoneinfo.ZoneInfo | None:
    """The user's time zone; None: the console's default."""
    if not user.time_zone:
        return None
    try:
        return zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class LiveConsumer(AsyncWebsocketConsumer):
    """One dashboard's socket. URL kwargs: `kind` ("org" or "project") and `pk` (the page's organisation or
    project); the client sends nothing that is read."""

    user: User
    organization_id: UUID | None = None
    project_id: UUID | None = None
    session_key: str | None = None  # checked for every event where sessions live in the database
    joined: tuple[str, ...] = ()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(live.CLOSE_NOT_SIGNED_IN)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        kind, pk = kwargs["kind"], kwargs["pk"]
        self.user = user
        session = self.scope.get("session")
        if session is not None and settings.SESSION_ENGINE in DATABASE_SESSION_ENGINES:
            self.session_key = session.session_key
        page = await database_sync_to_async(load_scope)(
            self.user,
            session_key=self.session_key,
            **({"project_id": pk} if kind == "project" else {"organization_id": pk}),
        )
        if page is None:
            await self.refuse(live.CLOSE_NOT_A_MEMBER)
            return
        self.organization_id = page.organization.pk
        self.project_id = page.project.pk if kind == "project" else None
        self.language = language_for(self.user, self.scope)
        self.zone = zone_for(self.user)
        self.joined = (
            live.project_group(self.project_id) if self.project_id else live.org_group(self.organization_id),
            live.user_group(self.user.pk),
        )
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def refuse(self, code: int) -> None:
        """Accept, then close with `code`: a refused handshake looks like a dropped connection to the browser,
        which would retry forever."""
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = ()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Nothing the client sends is read."""

    async def live_event(self, message: dict[str, str]) -> None:
        html = await database_sync_to_async(self.render_event)(message.get("kind", ""), message.get("pk", ""))
        if html is GONE:
            await self.close(code=live.CLOSE_NOT_A_MEMBER)
        elif html:
            await self.send(text_data=html)

    async def live_close(self, message: dict[str, str]) -> None:
        if message.get("organization") == str(self.organization_id):
            await self.close(code=live.CLOSE_NOT_A_MEMBER)

    def render_event(self, kind: str, pk: str) -> object:
        """The event's fragments for this connection (None: nothing for it; GONE: it may no longer watch)."""
        renderer = live.renderer_for(kind)
        if renderer is None:
            return None
        with translation.override(self.language), timezone.override(self.zone):
            page = load_scope(
                self.user,
                organization_id=self.organization_id,
                project_id=self.project_id,
                session_key=self.session_key,
            )
            if page is None:
                return GONE
            return renderer(page, pk)


# The renderers of the kinds the tenants' pages show ------------------------------------------------------------------


def render_activity(page: OrganizationScope, pk: str) -> str | None:
    """A new entry at the top of the page's activity feed (if the page's scope and the viewer's role show it)."""
    item = feed.one(page, pk)
    if item is None:
        return None
    return render_to_string(
        "console/live/_feed_item_oob.html",
        {"item": item, "scope": page, "show_project": not isinstance(page, ProjectScope), "live": True},
    )


def render_projects(page: OrganizationScope, pk: str) -> str | None:
    """The organisation page's project list and count, for a project created, renamed or deleted."""
    if isinstance(page, ProjectScope):
        return None
    projects = list(page.organization.projects.order_by("name"))
    return render_to_string(
        "console/live/_org_projects.html",
        {"scope": page, "organization": page.organization, "projects": projects, "oob": True, "changed": pk},
    )


live.register("activity", render_activity)
live.register("project", render_projects)
