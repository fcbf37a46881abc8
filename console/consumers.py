"""The live channel: one WebSocket per open dashboard; every event is checked for each connection and rendered once
per variant of the connections that watch.

A page connects to `/ws/live/org/<uuid>/` or `/ws/live/project/<uuid>/` (htmx's ws extension, `ws-connect`). The
consumer accepts members of that organisation (and operators, who visit tenants read-only), joins the page's group
(`org.<uuid>` or `project.<uuid>`) and the user's own (`user.<id>`), and turns each event (`console.core.live`:
a kind and an id, never HTML) into `hx-swap-oob` fragments in the user's language and time zone, with their role
as it is *now*: the scope of every connection is re-read for every event, so a role change shows on the next event,
and a removed member, or a session signed out meanwhile, gets nothing more: the socket is closed. Every object is
loaded within the connection's scope, so an id from a message or the client is never trusted.

Many watchers, few renders: the consumers of one server process share their work per event (its `id`), through
futures kept a short while (`SharedWork`):
- the check: one read of the page's scope for all this process's connections to it (the page, the watchers' roles
  and their sessions: three queries, however many watch), instead of one query per connection;
- for kinds registered as `live.Shared`: the object, loaded once per page, and its fragments, rendered once per
  variant (page, language, time zone, role or operator visit, and what the kind adds), then sent to every
  connection of that variant. Plain renderers still run for each connection.
A connection that the shared check did not know yet (it connected meanwhile) is checked on its own.

Refusals are closed with a 44xx code after the handshake (4401 not signed in, 4403 not a member or no such scope:
the same answer for both, as pages answer 404), so that the browser does not knock again; htmx's ws extension
reconnects by itself, with backoff, only after a dropped connection or a server restart (1006, 1011-1013).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
import zoneinfo
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable
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
    return _scope(user, organization, project, found.viewer_role)


def load_scopes(
    watchers: Iterable[tuple[User, str | None]], *, organization_id: UUID | None = None, project_id: UUID | None = None
) -> dict[tuple[int, str | None], Any]:
    """`load_scope` for many connections to one page at once, in three queries whatever their number (the page, the
    watchers' memberships, their sessions): {(user id, session key): scope or None}. A session key of None is not
    checked (sessions that do not live in the database)."""
    watchers = list(watchers)
    if project_id is not None:
        project = Project.objects.select_related("organization").filter(pk=project_id).first()
        organization = project.organization if project is not None else None
    else:
        project, organization = None, Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return {(user.pk, key): None for user, key in watchers}
    roles = dict(
        Membership.objects.filter(organization=organization, user_id__in={user.pk for user, _key in watchers})
        .order_by()
        .values_list("user_id", "role")
    )
    keys = {key for _user, key in watchers if key is not None}
    signed_in = (
        set(
            Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).values_list(
                "session_key", flat=True
            )
        )
        if keys
        else set()
    )
    return {
        (user.pk, key): None
        if key is not None and key not in signed_in
        else _scope(user, organization, project, roles.get(user.pk))
        for user, key in watchers
    }


def _scope(user: User, organization: Organization, project: Project | None, role: str | None) -> Any:
    """The scope of `user` on the page, given their role in its organisation (None: not a member): a member's, an
    operator's read-only visit, or None. The role is all a scope reads from its membership: no query for the row."""
    if role:
        membership: Membership | None = Membership(user=user, organization=organization, role=role)
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


class SharedWork:
    """What the consumers of one event loop (a server process) share, per event: futures by key, kept `TTL` seconds
    and at most `KEPT` of them (a consumer still busy with earlier events gets the same result a little later; one
    later still works it out again), and who watches which page."""

    TTL = 10.0
    KEPT = 1000  # a few hundred events' checks, loads and renders: some MB of HTML at most

    def __init__(self) -> None:
        self.watching: defaultdict[tuple[str, UUID], set[LiveConsumer]] = defaultdict(set)
        self._results: OrderedDict[Hashable, tuple[float, asyncio.Future[Any]]] = OrderedDict()

    def once(self, key: Hashable, work: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
        """The result of `work()` for `key`: started by the first caller, awaited by every caller; a caller that is
        cancelled (its socket closed) does not cancel it for the others."""
        now = time.monotonic()
        while self._results:
            oldest, (started, _future) = next(iter(self._results.items()))
            if now - started < self.TTL and len(self._results) < self.KEPT:
                break
            del self._results[oldest]
        entry = self._results.get(key)
        if entry is None:
            entry = (now, asyncio.ensure_future(work()))
            self._results[key] = entry
        return asyncio.shield(entry[1])


_shared_work: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedWork] = weakref.WeakKeyDictionary()


def shared_work() -> SharedWork:
    """This event loop's `SharedWork` (daphne runs one loop per process; tests one per test)."""
    loop = asyncio.get_running_loop()
    work = _shared_work.get(loop)
    if work is None:
        work = _shared_work[loop] = SharedWork()
    return work


class LiveConsumer(AsyncWebsocketConsumer):
    """One dashboard's socket. URL kwargs: `kind` ("org" or "project") and `pk` (the page's organisation or
    project); the client sends nothing that is read."""

    user: User
    organization_id: UUID | None = None
    project_id: UUID | None = None
    session_key: str | None = None  # checked for every event where sessions live in the database
    language: str = ""
    zone: zoneinfo.ZoneInfo | None = None
    joined: tuple[str, ...] = ()
    page_key: tuple[str, UUID] | None = None  # ("org" | "project", its id): the page whose events this socket shows
    work: SharedWork | None = None

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
        self.page_key = ("project", self.project_id) if self.project_id else ("org", self.organization_id)
        self.language = language_for(self.user, self.scope)
        self.zone = zone_for(self.user)
        self.work = shared_work()
        self.work.watching[self.page_key].add(self)  # before joining: whoever gets the page's events is known
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
        if self.work is not None and self.page_key is not None:
            watchers = self.work.watching.get(self.page_key)
            if watchers is not None:
                watchers.discard(self)
                if not watchers:
                    del self.work.watching[self.page_key]
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = ()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Nothing the client sends is read."""

    async def live_event(self, message: dict[str, str]) -> None:
        kind, pk, event = message.get("kind", ""), message.get("pk", ""), message.get("id", "")
        renderer = live.renderer_for(kind)
        if renderer is None:
            return
        page = await self.current_scope(event)
        if page is None:
            await self.close(code=live.CLOSE_NOT_A_MEMBER)
            return
        if isinstance(renderer, live.Shared) and event:
            html = await self.render_shared(renderer, event, page, pk)
        elif isinstance(renderer, live.Shared):  # a message without an id (sent before they had one): this one alone
            html = await database_sync_to_async(self._render)(self._load_and_render(renderer), page, pk)
        else:
            html = await database_sync_to_async(self._render)(renderer, page, pk)
        for fragment in [html] if isinstance(html, str) else html or ():
            if fragment:
                await self.send(text_data=fragment)

    async def live_close(self, message: dict[str, str]) -> None:
        if message.get("organization") == str(self.organization_id):
            await self.close(code=live.CLOSE_NOT_A_MEMBER)

    async def current_scope(self, event: str) -> Any:
        """This connection's scope now (None: it may no longer watch): from the check this process makes once per
        event for all its connections to the page, else (no event id, or connected since) on its own."""
        if event and self.work is not None and self.page_key is not None:
            work, page_key = self.work, self.page_key
            ids = {"project_id": page_key[1]} if page_key[0] == "project" else {"organization_id": page_key[1]}

            def check() -> Awaitable[dict[tuple[int, str | None], Any]]:
                watchers = [(c.user, c.session_key) for c in work.watching.get(page_key, ())]
                return database_sync_to_async(load_scopes)(watchers, **ids)

            scopes = await work.once(("check", event, page_key), check)
            if (self.user.pk, self.session_key) in scopes:
                return scopes[(self.user.pk, self.session_key)]
        return await database_sync_to_async(load_scope)(
            self.user,
            organization_id=self.organization_id,
            project_id=self.project_id,
            session_key=self.session_key,
        )

    async def render_shared(self, renderer: live.Shared, event: str, page: Any, pk: str) -> live.Fragments:
        """The event's fragments for this connection's variant: loaded once per page, rendered once per variant."""
        assert self.work is not None
        loaded = await self.work.once(
            ("load", event, self.page_key), lambda: database_sync_to_async(renderer.load)(page, pk)
        )
        if loaded is None:
            return None
        variant = (
            self.page_key,
            self.language,
            str(self.zone) if self.zone else None,
            page.role,
            page.operator_visit,
            renderer.variant(page, loaded),
        )
        return await self.work.once(
            ("render", event, variant), lambda: database_sync_to_async(self._render)(renderer.render, page, loaded)
        )

    @staticmethod
    def _load_and_render(renderer: live.Shared) -> Callable[[Any, str], live.Fragments]:
        def load_and_render(page: Any, pk: str) -> live.Fragments:
            loaded = renderer.load(page, pk)
            return None if loaded is None else renderer.render(page, loaded)

        return load_and_render

    def _render(self, renderer: Callable[[Any, Any], live.Fragments], page: Any, subject: Any) -> live.Fragments:
        """`renderer(page, subject)` in this connection's language and time zone (a worker thread)."""
        with translation.override(self.language), timezone.override(self.zone):
            return renderer(page, subject)


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


# Both depend on the user only through the page and the role (`feed.events` hides auditors-only entries by role; the
# list's buttons need an admin): shared by the connections of each (page, language, time zone, role) variant.
live.register("activity", live.Shared(render=render_activity))
live.register("project", live.Shared(render=render_projects))
