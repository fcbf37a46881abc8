"""What the servers' pages share: the rows a project page may read, and which lifecycle operations a page offers
for one server (with the reason when it cannot), so that the list, the detail page and the live fragments agree.

The actions (`infra.actions.servers`) check everything again on submit; this module only decides what to show:

    servers = servers_ui.project_servers(scope)                     # live rows of the page's project
    server = servers_ui.server_or_404(scope, server_id)              # one of them (deleted ones too), else 404
    for offer in servers_ui.offers(scope, server): ...               # Offer(op, enabled, reason)
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cached_property
from types import SimpleNamespace
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.formats import localize
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tables2.rows import BoundRows

from console.templatetags.console import icon
from infra.models import Server
from infra.providers.base import SETTLED, TRANSITIONAL, Status
from tenants.models import Role
from tenants.policy import ALLOWED_WHILE_SUSPENDED, Operation
from tenants.scope import ProjectScope

# The columns every server page shows (one query for a page of rows, whatever its size).
RELATED = ("region", "flavor", "image", "keypair", "created_by")


def project_servers(scope: ProjectScope, *, include_deleted: bool = False) -> QuerySet[Server]:
    """The page's project's servers (not deleted ones, unless asked), with what the pages show of them."""
    rows = Server.objects.filter(project=scope.project).select_related(*RELATED)
    return rows if include_deleted else rows.live()


# --- search ----------------------------------------------------------------------------------------------------------

IP_CHARACTERS = re.compile(r"^[0-9A-Fa-f.:]+$")


def search_name_or_address(queryset: QuerySet[Server], value: str) -> QuerySet[Server]:
    """Servers whose name contains `value` (any case), or one of whose IP addresses does (partial: "10.0.0", "::1";
    never a MAC). Trigram indexes serve both halves (infra_server_name_trgm, infra_server_ips_trgm)."""
    value = value.strip()
    if not value:
        return queryset
    query = Q(name__icontains=value)
    if IP_CHARACTERS.match(value):
        query |= Q(ip_text__contains=value.lower())
    return queryset.filter(query)


def server_or_404(scope: ProjectScope, server_id: uuid.UUID | str, *, include_deleted: bool = True) -> Server:
    """One server of the page's project (a deleted one too, for its history), else 404: another tenant's id is
    simply not found."""
    server = project_servers(scope, include_deleted=include_deleted).filter(pk=server_id).first()
    if server is None:
        raise Http404
    return server


# --- status badges ---------------------------------------------------------------------------------------------------

# Tabler colour of each status's badge. Transitional statuses also show a spinner (`is_transitional`).
STATUS_COLOURS: dict[str, str] = {
    Status.PENDING: "blue",
    Status.CREATING: "blue",
    Status.BUILDING: "blue",
    Status.ACTIVE: "green",
    Status.STARTING: "azure",
    Status.STOPPING: "orange",
    Status.STOPPED: "secondary",
    Status.REBOOTING: "azure",
    Status.RESIZING: "purple",
    Status.VERIFY_RESIZE: "yellow",
    Status.REVERTING: "purple",
    Status.REBUILDING: "purple",
    Status.DELETING: "red",
    Status.DELETED: "dark",
    Status.ERROR: "red",
}


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")


# --- operations ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """A lifecycle operation as pages offer it. `form` ops (resize, rebuild, rename) open a page with a form;
    the others are one POST, behind a confirmation when `confirm` is set."""

    name: str
    label: str | Promise
    icon: str
    statuses: frozenset[Status] | None  # None: any status but DELETING and DELETED
    operation: Operation
    confirm: str | Promise = ""  # the confirmation's question; "" = none
    confirm_detail: str | Promise = ""
    destructive: bool = False
    form: bool = False
    bulk: bool = False  # offered for a selection in the list

    @cached_property
    def menu_icon(self) -> str:
        """Its icon as the rows' menus draw it, drawn once (a list draws it in every row's menu)."""
        return icon(self.icon, "dropdown-item-icon")


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Op("start", gettext_lazy("Start"), "player-play", frozenset({Status.STOPPED}), Operation.START, bulk=True),
        Op(
            "stop",
            gettext_lazy("Stop"),
            "player-stop",
            frozenset({Status.ACTIVE}),
            Operation.STOP,
            confirm=gettext_lazy("Stop %(name)s?"),
            confirm_detail=gettext_lazy(
                "Its operating system is shut down and the instance stops running. Its disk and addresses are kept."
            ),
            bulk=True,
        ),
        Op(
            "reboot",
            gettext_lazy("Reboot"),
            "refresh",
            frozenset({Status.ACTIVE}),
            Operation.START,
            confirm=gettext_lazy("Reboot %(name)s?"),
            confirm_detail=gettext_lazy("Its operating system restarts; connections to it drop for a moment."),
            bulk=True,
        ),
        Op(
            "reboot_hard",
            gettext_lazy("Hard reboot"),
            "bolt",
            frozenset({Status.ACTIVE, Status.ERROR}),
            Operation.START,
            confirm=gettext_lazy("Hard reboot %(name)s?"),
            confirm_detail=gettext_lazy(
                "Like pulling the power cord: the instance restarts at once and unsaved data in memory is lost."
            ),
            destructive=True,
        ),
        Op(
            "resize",
            gettext_lazy("Change type"),
            "arrows-diagonal",
            frozenset({Status.ACTIVE, Status.STOPPED}),
            Operation.RESIZE,
            form=True,
        ),
        Op(
            "confirm_resize",
            gettext_lazy("Confirm type change"),
            "check",
            frozenset({Status.VERIFY_RESIZE}),
            Operation.RESIZE,
        ),
        Op(
            "revert_resize",
            gettext_lazy("Revert type change"),
            "arrow-back-up",
            frozenset({Status.VERIFY_RESIZE}),
            Operation.RESIZE,
            confirm=gettext_lazy("Revert the type change of %(name)s?"),
            confirm_detail=gettext_lazy("It goes back to its former instance type and restarts."),
        ),
        Op(
            "rebuild",
            gettext_lazy("Rebuild"),
            "recycle",
            frozenset({Status.ACTIVE, Status.STOPPED}),
            Operation.UPDATE,
            destructive=True,
            form=True,
        ),
        Op("rename", gettext_lazy("Rename"), "pencil", None, Operation.UPDATE, form=True),
        Op("lock", gettext_lazy("Lock"), "lock", frozenset(SETTLED - {Status.DELETED}), Operation.UPDATE),
        Op("unlock", gettext_lazy("Unlock"), "lock-open", frozenset(SETTLED - {Status.DELETED}), Operation.UPDATE),
        Op(
            "delete",
            gettext_lazy("Delete"),
            "trash",
            None,
            Operation.DELETE,
            confirm=gettext_lazy("Delete %(name)s?"),
            confirm_detail=gettext_lazy(
                "The instance and its disk are deleted for good. Its addresses are released. This cannot be undone."
            ),
            destructive=True,
            bulk=True,
        ),
    )
}


@dataclass(frozen=True)
class Offer:
    op: Op
    enabled: bool
    reason: str = ""  # why not, when not enabled (a tooltip)

    @property
    def name(self) -> str:
        return self.op.name


def refusal(scope: ProjectScope, server: Server, op: Op) -> str:
    """Why `op` cannot be offered on `server` now ("" when it can). Role and operator visits are not reasons:
    pages do not show operations to those who may not run them (see `offers`)."""
    organization = scope.organization
    if organization.is_suspended and op.operation not in ALLOWED_WHILE_SUSPENDED:
        return _("%(org)s is suspended: instances can be stopped and deleted, not started or changed.") % {
            "org": organization.name
        }
    if server.status == Status.DELETED:
        return _("The instance is deleted.")
    if op.name in ("lock", "unlock") and server.locked == (op.name == "lock"):
        return _("The instance is already locked.") if server.locked else _("The instance is not locked.")
    if server.locked and op.name != "unlock":
        return _("The instance is locked: unlock it first.")
    if op.statuses is None:
        if server.status == Status.DELETING:
            return _("The instance is being deleted.")
        return ""
    if server.status not in op.statuses:
        # The status's own label, not get_status_display(): that translates every status's label on each call.
        return _("Not while the instance is %(status)s.") % {"status": str(Status(server.status).label).lower()}
    if op.name in ("lock", "unlock", "reboot_hard") and not server.provider_id:
        return _("Not before the instance exists in the cloud.")
    return ""


def can_operate(scope: ProjectScope) -> bool:
    """Whether the page shows operations at all: members and above (viewers and visiting operators read only)."""
    return scope.can(Role.MEMBER)


def offers(scope: ProjectScope, server: Server, *, names: tuple[str, ...] | None = None) -> list[Offer]:
    """The operations a page shows for `server`, each enabled or with the reason it is not; none for viewers and
    visiting operators. `names` picks and orders a subset (default: every op)."""
    if not can_operate(scope) or server.status == Status.DELETED:
        return []
    chosen = [OPS[name] for name in (names or tuple(OPS))]
    shown = []
    for op in chosen:
        if op.name in ("lock", "unlock") and server.locked == (op.name == "lock"):
            continue  # one of the pair, as it applies
        if op.name in ("confirm_resize", "revert_resize") and server.status != Status.VERIFY_RESIZE:
            continue  # only while a type change waits for its answer
        reason = refusal(scope, server, op)
        shown.append(Offer(op, not reason, reason))
    return shown


def is_transitional(server: Server) -> bool:
    return server.status in TRANSITIONAL


# --- tables ----------------------------------------------------------------------------------------------------------


class QuickRows:
    """A django-tables2 table mixin: each row of the page drawn whole, as its `<tr>`, by the table's own
    `render_<column>(record)` methods (`console/_table.html` prints `row.html` as it is).

    django-tables2 draws each cell through its generic path (the accessor, `get_FOO_display`, a signature inspection
    of the render method, the column's attributes computed again for every cell): about 45 µs a cell, 11 ms for a page
    of 25 rows of 10 columns before any cell is drawn, and the template's loop over the cells cost as much again. Here
    the columns' `<td>` attributes are computed once per page and each cell is one call. A column without a
    `render_<name>` method takes django-tables2's path. Live fragments that draw one row (`table.rows[0]`) keep
    django-tables2's rows: the cells are the same methods, so the HTML is the same."""

    @property
    def paginated_rows(self) -> list[Any]:
        rows = super().paginated_rows  # type: ignore[misc]
        columns = [
            (bound.attrs["td"].as_html(), getattr(self, f"render_{bound.name}", None), bound.name)
            for bound in self.columns  # type: ignore[attr-defined]
        ]
        quick = []
        for row in rows:
            record = row.record
            cells = "".join(
                f"<td {td}>{conditional_escape(localize(render(record) if render else row.get_cell(name)))}</td>"
                for td, render, name in columns
            )
            html = mark_safe(f"<tr {row.attrs.as_html()}>{cells}</tr>")  # noqa: S308 (attributes and cells escaped)
            quick.append(SimpleNamespace(record=record, html=html))
        return quick


def with_tiebreaker(queryset: QuerySet) -> QuerySet:
    """`queryset` ordered as it is, then by id (in the direction of the last term, so that an index ending with the
    id serves both directions): one total order, for pages that neither skip nor repeat rows whose keys are equal."""
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    names = {term.lstrip("-") for term in ordering if isinstance(term, str)}
    if names & {"pk", "id"}:
        return queryset
    last = ordering[-1] if ordering else ""
    descending = last.startswith("-") if isinstance(last, str) else bool(getattr(last, "descending", False))
    return queryset.order_by(*ordering, "-pk" if descending else "pk")


class ReversiblePaginator(Paginator):
    """Numbered pages of a table's queryset that cost about the same at any page number.

    An OFFSET costs the rows it skips, and with the joins a list needs (region, type, image…) each skipped row costs
    its joins too: the last of 768 pages read 19,175 full rows to show 12. Here a page reads the ids of its rows first
    (`SELECT id … ORDER BY … OFFSET n LIMIT 25`: an index-only scan of an index that ends with the id skips index
    entries, not rows), then its rows by id. And a page past the middle reads the reversed order, with the offset
    counted from the end (the last page: the first ids of the reversed order). Both need a total order: the ordering
    ends with the id (`with_tiebreaker`). A table that knows how many rows it shows sets `row_count` (the list's
    counts above the table): no COUNT query then."""

    def __init__(self, object_list: Any, per_page: int, orphans: int = 0, allow_empty_first_page: bool = True) -> None:
        self.table = getattr(object_list, "table", None)
        data = getattr(object_list, "data", None)
        self.queryset = getattr(data, "data", None) if isinstance(object_list, BoundRows) else None
        if isinstance(self.queryset, QuerySet):
            self.queryset = data.data = with_tiebreaker(self.queryset)
        else:
            self.queryset = None
        super().__init__(object_list, per_page, orphans=orphans, allow_empty_first_page=allow_empty_first_page)
        known = getattr(self.table, "row_count", None)
        if known is not None:
            self.count = known

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if self.queryset is None:
            return self._get_page(self.object_list[bottom:top], number, self)
        if bottom * 2 < self.count:
            ids = list(self.queryset.values_list("pk", flat=True)[bottom:top])
        else:
            ids = list(self.queryset.reverse().values_list("pk", flat=True)[self.count - top : self.count - bottom])
            ids.reverse()
        by_id = {record.pk: record for record in self.queryset.filter(pk__in=ids).order_by()} if ids else {}
        records = [by_id[pk] for pk in ids if pk in by_id]  # a row deleted between the two reads is left out
        return self._get_page(BoundRows(records, table=self.table), number, self)
