"""One server's pages (/o/<org>/<project>/servers/<uuid>/…): the overview, network, activity and console log tabs,
the lifecycle operations (one POST each, behind a confirmation where `servers_ui.OPS` asks for one), and the pages of
the operations that need a choice (change type, rebuild, rename).

Every page reads the mirror, never the cloud; operations go through `infra.actions.servers`, which checks the rules
again (a refusal is a message and changes nothing). What a page offers comes from `servers_ui.offers`, so the list,
this page and the live fragments agree: viewers and visiting operators see no operation at all.

Live: `live_detail` renders the header, the overview's details and the addresses as `hx-swap-oob` fragments for the
open page; `live_console_log` the console log a task fetched (`infra.console_log`). They are rendered once for all
the watchers of a role and language (`infra.live`), without a request: their forms carry no CSRF token, and
console.js puts in the page's when one is submitted. After a reconnect the header reloads itself (`server_header`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from console.core import live
from console.core.htmx import htmx_target, render_page
from console.core.tables import build_table
from infra import catalog, console_log, quotas, servers_ui
from infra.actions import keypairs as keypair_actions
from infra.actions import servers as actions
from infra.backoffice_catalog import format_disk, format_ram
from infra.models import Flavor, Image, Resource, Server
from infra.providers.base import Status
from tenants import feed
from tenants.models import Role
from tenants.policy import ActionError, NotAllowed, NotFound
from tenants.scope import ProjectScope, project_view
from tenants.views.activity import AuditEventTable
from tenants.views.base import actor_for, refuse

# --- shared parts ----------------------------------------------------------------------------------------------------

TABS: tuple[tuple[str, str, str, str | Promise], ...] = (
    ("overview", "server", "info-circle", gettext_lazy("Overview")),
    ("network", "server_network", "network", gettext_lazy("Network")),
    ("activity", "server_activity", "list-details", gettext_lazy("Activity")),
    ("console", "server_console_log", "terminal-2", gettext_lazy("Console log")),
)

# The toolbar's order: the everyday operations first, the rest behind "More".
PRIMARY_OPS = ("start", "stop", "reboot", "resize")
MORE_OPS = ("reboot_hard", "rebuild", "rename", "lock", "unlock", "delete")


def _url(name: str, scope: ProjectScope, **kwargs: object) -> str:
    return reverse(name, kwargs={"org_slug": scope.organization.slug, "project_slug": scope.project.slug, **kwargs})


def _server_url(name: str, scope: ProjectScope, server: Server, **kwargs: object) -> str:
    return _url(name, scope, server_id=server.pk, **kwargs)


@dataclass(frozen=True)
class ShownOp:
    """An operation as the toolbar draws it: where it goes, whether it is a form page, its confirmation."""

    name: str
    label: str
    icon: str
    enabled: bool
    reason: str
    url: str
    form_page: bool
    confirm: str
    confirm_detail: str
    destructive: bool


def shown_ops(scope: ProjectScope, server: Server, names: tuple[str, ...]) -> list[ShownOp]:
    """The offers of `names` (in that order) as the toolbar draws them; empty for viewers and visiting operators."""
    shown = []
    for offer in servers_ui.offers(scope, server, names=names):
        op = offer.op
        url = (
            _server_url(f"server_{op.name}", scope, server)
            if op.form
            else _server_url("server_op", scope, server, op=op.name)
        )
        shown.append(
            ShownOp(
                name=op.name,
                label=str(op.label),
                icon=op.icon,
                enabled=offer.enabled,
                reason=offer.reason,
                url=url,
                form_page=op.form,
                confirm=str(op.confirm) % {"name": server.name} if op.confirm else "",
                confirm_detail=str(op.confirm_detail),
                destructive=op.destructive,
            )
        )
    return shown


def progress(server: Server) -> str:
    """What is happening to a server in a transitional status, in a sentence ("" when nothing is)."""
    if not servers_ui.is_transitional(server):
        return ""
    pending = server.pending or {}
    op = pending.get("op", "")
    name = server.name
    if op == "resize":
        flavor = Flavor.objects.filter(pk=pending.get("flavor")).values_list("name", flat=True).first()
        text = _("Changing the type of %(name)s to %(flavor)s…") % {"name": name, "flavor": flavor or "?"}
    elif op == "revert_resize":
        flavor = Flavor.objects.filter(pk=pending.get("previous_flavor")).values_list("name", flat=True).first()
        if flavor:
            text = _("Reverting %(name)s to its former type %(flavor)s…") % {"name": name, "flavor": flavor}
        else:
            text = _("Reverting the type change of %(name)s…") % {"name": name}
    elif op == "rebuild":
        image = Image.objects.filter(pk=pending.get("image")).first()
        text = _("Rebuilding %(name)s from %(image)s…") % {"name": name, "image": image.display_name if image else "?"}
    elif op == "reboot":
        text = (_("Hard rebooting %(name)s…") if pending.get("hard") else _("Rebooting %(name)s…")) % {"name": name}
    else:
        texts = {
            "create": _("Creating %(name)s in %(region)s…"),
            "start": _("Starting %(name)s…"),
            "stop": _("Stopping %(name)s…"),
            "confirm_resize": _("Confirming the type change of %(name)s…"),
            "delete": _("Deleting %(name)s…"),
        }
        text = texts.get(op, _("Waiting for the cloud to finish with %(name)s…")) % {
            "name": name,
            "region": server.region.name,
        }
    if pending.get("last_error"):
        text += " " + _("The region did not answer (attempt %(n)s); trying again.") % {"n": pending.get("failures", 1)}
    return text


def flavor_summary(flavor: Flavor) -> str:
    """ "2 vCPUs · 4 GiB RAM · 40 GiB disk"."""
    text = ngettext(
        "%(vcpus)s vCPU · %(ram)s RAM · %(disk)s disk", "%(vcpus)s vCPUs · %(ram)s RAM · %(disk)s disk", flavor.vcpus
    )
    return text % {
        "vcpus": flavor.vcpus,
        "ram": format_ram(flavor.ram_mb),
        "disk": format_disk(flavor.disk_gb),
    }


def keypair_url(scope: ProjectScope, server: Server) -> str:
    """A link to the server's key pair if it still exists and this user may open it (members see their own)."""
    keypair = server.keypair
    if keypair is None or keypair.deleted_at is not None:
        return ""
    sees_all = scope.membership is None or keypair_actions.sees_every_keypair(scope.role)
    if not sees_all and keypair.user_id != scope.membership.user_id:
        return ""
    return _url("keypair", scope, keypair_id=keypair.pk)


def _parts(scope: ProjectScope, server: Server) -> dict[str, Any]:
    """What the header, overview and addresses show: shared by the pages and the live fragments."""
    deleted = server.status == Status.DELETED
    return {
        "scope": scope,
        "organization": scope.organization,
        "project": scope.project,
        "server": server,
        "deleted": deleted,
        "can_operate": servers_ui.can_operate(scope) and not deleted,
        "primary_ops": shown_ops(scope, server, PRIMARY_OPS),
        "more_ops": shown_ops(scope, server, MORE_OPS),
        "resize_ops": shown_ops(scope, server, ("confirm_resize", "revert_resize")),
        # In ERROR: what can be done now (delete always; a hard reboot where the engine allows it).
        "error_ops": [op for op in shown_ops(scope, server, ("reboot_hard", "delete")) if op.enabled]
        if server.status == Status.ERROR
        else [],
        "progress": progress(server),
        "header_url": _server_url("server_header", scope, server),
        "keypair_url": keypair_url(scope, server),
        "addresses": server.addresses or [],
        "flavor_summary": flavor_summary(server.flavor),
    }


def _context(request: HttpRequest, scope: ProjectScope, server: Server, tab: str) -> dict[str, Any]:
    context = _parts(scope, server)
    context.update(
        {
            "tab": tab,
            "tabs": [
                {"name": name, "url": _server_url(url_name, scope, server), "icon": icon, "label": label}
                for name, url_name, icon, label in TABS
            ],
            "live_url": live.socket_path(scope.project),
            "list_url": _url("servers", scope),
        }
    )
    return context


# --- tabs ------------------------------------------------------------------------------------------------------------


@project_view
@require_http_methods(["GET", "HEAD"])
def server_detail(request: HttpRequest, scope: ProjectScope, server_id: uuid.UUID) -> HttpResponse:
    """The overview: what the server is, where, made from what and by whom."""
    server = servers_ui.server_or_404(scope, server_id)
    return render(request, "infra/servers/detail_overview.html", _context(request, scope, server, "overview"))


@project_view
@require_http_methods(["GET", "HEAD"])
def server_header(request: HttpRequest, scope: ProjectScope, server_id: uuid.UUID) -> HttpResponse:
    """The header alone (status, progress, operations): what the page reloads after a live change or a reconnect."""
    server = servers_ui.server_or_404(scope, server_id)
    context = _parts(scope, server)
    # Its forms go back to the tab that holds the header (htmx says which), not to this fragment's URL.
    page_path = urlsplit(request.headers.get("HX-Current-URL", "")).path
    context["back_url"] = page_path if _is_server_page(page_path, scope, server) else ""
    return render(request, "infra/servers/_detail_header.html", context)


@project_view
@require_http_methods(["GET", "HEAD"])
def server_network(request: HttpRequest, scope: ProjectScope, server_id: uuid.UUID) -> HttpResponse:
    """The server's addresses and its project's default network in the region."""
    server = servers_ui.server_or_404(scope, server_id)
    context = _context(request, scope, server, "network")
    context["cloud_project"] = server.cloud_project
    return render(request, "infra/servers/detail_network.html", context)


@project_view
@require_http_methods(["GET", "HEAD"])
def server_activity(request: HttpRequest, scope: ProjectScope, server_id: uuid.UUID) -> HttpResponse:
    """What happened to the server (its audit rows), newest first. Every member reads it as the project's activity
    feed shows it; IP addresses and before/after values stay with owners, admins and visiting operators, as on the
    organisation's activity log."""
    server = servers_ui.server_or_404(scope, server_id)
    rows = feed.events(scope).filter(
        target_type=Server._meta.label_lower, target_id=str(server.pk)
    )  # the feed's rules: its organisation and project, auditors-only actions hidden from others
    exclude = ["organization", "project", "target"]
    if not scope.can_audit:
        exclude += ["ip", "changes"]
    table = build_table(
        request,
        ServerActivityTable,
        rows,
        exclude=exclude,
        caption=_("Activity of %(name)s") % {"name": server.name},
    )
    context = _context(request, scope, server, "activity")
    context["table"] = table
    context["full_log"] = scope.can_audit
    return render_page(
        request, "infra/servers/detail_activity.html", context, partials={"table": "console/_table_partial.html"}
    )


class ServerActivityTable(AuditEventTable):
    empty_title = gettext_lazy("No activity yet")
    empty_description = gettext_lazy("What members and the cloud do to this instance appears here.")


def _console_context(scope: ProjectScope, server: Server) -> dict[str, Any]:
    may_read = _may_read_console(scope)
    log = console_log.stored(server.pk) if may_read else None
    return {
        "scope": scope,
        "server": server,
        "log": log,
        "may_read_console": may_read,
        "may_fetch_console": servers_ui.can_operate(scope) and server.status != Status.DELETED,
        "line_choices": console_log.LINE_CHOICES,
        "lines": log.requested_lines if log else console_log.DEFAULT_LINES,
        "console_url": _server_url("server_console_log", scope, server),
    }


def _may_read_console(scope: ProjectScope) -> bool:
    """Members and above (the output may hold secrets the instance printed at boot), and visiting operators."""
    return scope.operator_visit or scope.can(Role.MEMBER)


@project_view
@require_http_methods(["GET", "HEAD", "POST"])
def server_console_log(request: HttpRequest, scope: ProjectScope, server_id: uuid.UUID) -> HttpResponse:
    """The console log last fetched (GET), or ask a task for the latest lines (POST; the page shows it when the
    task pushes it on the live channel, or on the next GET)."""
    server = servers_ui.server_or_404(scope, server_id)
    if request.method == "POST":
        if not servers_ui.can_operate(scope):
            raise PermissionDenied(_("Your role does not allow fetching the console log."))
        if server.status == Status.DELETED:
            messages.error(request, _("The instance is deleted: it has no console any more."))
        else:
            console_log.request_fetch(server, lines=console_log.clean_lines(request.POST.get("lines")))
        if htmx_target(request):
            return render(request, "infra/servers/_console_log.html", _console_context(scope, server))
        return redirect(_server_url("server_console_log", scope, server))
    context = _context(request, scope, server, "console")
    context.update(_console_context(scope, server))
    return render_page(
        request,
        "infra/servers/detail_console_log.html",
        context,
        partials={f"server-{server.pk}-console": "infra/servers/_console_log.html"},
    )


# --- one-click operations --------------------------------------------------------------------------------------------

DONE_MESSAGES: dict[str, str | Promise] = {
    "start": gettext_lazy("Starting %(name)s."),
    "stop": gettext_lazy("Stopping %(name)s."),
    "reboot": gettext_lazy("Rebooting %(name)s."),
    "reboot_hard": gettext_lazy("Hard rebooting %(name)s."),
    "confirm_resize": gettext_lazy("Confirming the new type of %(name)s."),
    "revert_resize": gettext_lazy("Reverting %(name)s to its former type."),
    "lock": gettext_lazy("%(name)s is locked: every operation but unlock is refused until you unlock it."),
    "unlock": gettext_lazy("%(name)s is unlocked."),
    "delete": gettext_lazy("Deleting %(name)s. It disappears from the list once the cloud has deleted it."),
}


def _is_server_page(path: str, scope: ProjectScope, server: Server) -> bool:
    """Whether `path` is one of this server's pages (a tab or a form page; not a fragment's URL)."""
    overview = _server_url("server", scope, server)
    return (
        path.startswith(overview)
        and "//" not in path
        and path != _server_url("server_header", scope, server)
        and "/do/" not in path
    )


def _back(request: HttpRequest, scope: ProjectScope, server: Server) -> HttpResponse:
    """Back to the tab the operation was sent from (a path of this server's pages only), else the overview."""
    back = request.POST.get("next", "")
    return redirect(back if _is_server_page(back, scope, server) else _server_url("server", scope, server))


@require_POST
@project_view
def server_op(request: HttpRequest, scope: ProjectScope, server_id: uuid.UUID, op: str) -> HttpResponse:
    """Run one lifecycle operation; a refusal is a message on the page it came from and changes nothing."""
    if op not in actions.ONE_CLICK:
        raise Http404
    server = servers_ui.server_or_404(scope, server_id, include_deleted=False)
    try:
        actions.run_one_click(actor=actor_for(request), server=server, op=op)
    except ActionError as error:
        refuse(request, error)
        return _back(request, scope, server)
    messages.success(request, str(DONE_MESSAGES[op]) % {"name": server.name})
    if op == "delete":
        return redirect(_url("servers", scope))
    return _back(request, scope, server)


# --- operations with a form ------------------------------------------------------------------------------------------


def _posted(request: HttpRequest) -> Any:
    """The form's data on a POST (even an empty one, so that it is checked), else None."""
    return request.POST if request.method == "POST" else None


def _require_operate(scope: ProjectScope, server: Server) -> None:
    if not servers_ui.can_operate(scope):
        raise PermissionDenied(_("Your role does not allow changing instances."))
    if server.status == Status.DELETED:
        raise Http404


def _form_context(request: HttpRequest, scope: ProjectScope, server: Server, op: str) -> dict[str, Any]:
    context = _context(request, scope, server, "overview")
    context["op"] = servers_ui.OPS[op]
    context["refusal"] = servers_ui.refusal(scope, server, servers_ui.OPS[op])
    context["cancel_url"] = _server_url("server", scope, server)
    return context


@dataclass(frozen=True)
class FlavorChoice:
    """A row of the change-type table: the flavor, what changes, and why it cannot be chosen ("" if it can)."""

    flavor: Flavor
    current: bool
    reason: str
    vcpus_delta: int
    ram_delta_mb: int

    @property
    def ram(self) -> str:
        return format_ram(self.flavor.ram_mb)

    @property
    def disk(self) -> str:
        return format_disk(self.flavor.disk_gb)


def flavor_choices(scope: ProjectScope, server: Server) -> list[FlavorChoice]:
    """The region's offered flavors for a change of type: the current one marked, a smaller disk or a quota the
    difference would exceed disabled with the reason (the action checks again)."""
    current = server.flavor
    rows = []
    for flavor in catalog.offered_flavors(server.region):
        is_current = flavor.pk == current.pk
        reason = ""
        vcpus, ram = flavor.vcpus - current.vcpus, flavor.ram_mb - current.ram_mb
        if is_current:
            reason = _("The instance has this type now.")
        elif flavor.disk_gb and flavor.disk_gb < current.disk_gb:
            reason = _("Its disk (%(disk)s GiB) is smaller than the instance's (%(has)s GiB): disks cannot shrink.") % {
                "disk": flavor.disk_gb,
                "has": current.disk_gb,
            }
        elif vcpus > 0 or ram > 0:
            short = quotas.shortfall(
                server.project, server.region, {Resource.CORES: max(vcpus, 0), Resource.RAM_MB: max(ram, 0)}
            )
            if short:
                reason = " ".join(short)
        rows.append(FlavorChoice(flavor, is_current, reason, vcpus, ram))
    return rows


class ResizeForm(forms.Form):
    flavor = forms.UUIDField(
        label=gettext_lazy("New instance type"), error_messages={"required": gettext_lazy("Choose an instance type.")}
    )


@project_view
@require_http_methods(["GET", "HEAD", "POST"])
def server_resize(request: HttpRequest, scope: ProjectScope, server_id: uuid.UUID) -> HttpResponse:
    """Change type: the offered flavors as a table; after the cloud resized it, confirm or revert on the page."""
    server = servers_ui.server_or_404(scope, server_id)
    _require_operate(scope, server)
    choices = flavor_choices(scope, server)
    form = ResizeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        flavor = next((c.flavor for c in choices if c.flavor.pk == form.cleaned_data["flavor"]), None)
        if flavor is None:
            form.add_error(
                "flavor", _("Choose one of the instance types offered in %(region)s.") % {"region": server.region.name}
            )
        else:
            try:
                actions.resize_server(actor=actor_for(request), server=server, flavor=flavor)
            except (NotFound, NotAllowed) as error:
                refuse(request, error)
            except ActionError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _(
                        "Changing the type of %(name)s to %(flavor)s. Once it is done, confirm the new type or"
                        " revert to the former one."
                    )
                    % {"name": server.name, "flavor": flavor.name},
                )
                return redirect(_server_url("server", scope, server))
    context = _form_context(request, scope, server, "resize")
    context.update({"form": form, "choices": choices, "chosen": str(form.data.get("flavor", ""))})
    return render(request, "infra/servers/resize.html", context, status=400 if request.method == "POST" else 200)


class RebuildForm(forms.Form):
    image = forms.UUIDField(label=gettext_lazy("Image"), error_messages={"required": gettext_lazy("Choose an image.")})
    confirm_name = forms.CharField(
        label=gettext_lazy("Type the instance's name to confirm"),
        error_messages={"required": gettext_lazy("Type the instance's name to confirm.")},
    )

    def __init__(self, *args: Any, server: Server, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server = server

    def clean_confirm_name(self) -> str:
        value = self.cleaned_data["confirm_name"].strip()
        if value != self.server.name:
            raise forms.ValidationError(_("This is not the instance's name; nothing was rebuilt."))
        return value


@project_view
@require_http_methods(["GET", "HEAD", "POST"])
def server_rebuild(request: HttpRequest, scope: ProjectScope, server_id: uuid.UUID) -> HttpResponse:
    """Rebuild from an image: the disk is erased; the name, type, addresses and key pair are kept."""
    server = servers_ui.server_or_404(scope, server_id)
    _require_operate(scope, server)
    images = list(catalog.offered_images(server.region))
    usable = [
        i for i in images if not i.min_disk_gb or i.min_disk_gb <= server.flavor.disk_gb or not server.flavor.disk_gb
    ]
    form = RebuildForm(_posted(request), server=server, initial={"image": server.image_id})
    if request.method == "POST" and form.is_valid():
        image = next((i for i in usable if i.pk == form.cleaned_data["image"]), None)
        if image is None:
            form.add_error(
                "image", _("Choose one of the images offered in %(region)s.") % {"region": server.region.name}
            )
        else:
            try:
                actions.rebuild_server(actor=actor_for(request), server=server, image=image)
            except (NotFound, NotAllowed) as error:
                refuse(request, error)
            except ActionError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("Rebuilding %(name)s from %(image)s.") % {"name": server.name, "image": image.display_name},
                )
                return redirect(_server_url("server", scope, server))
    context = _form_context(request, scope, server, "rebuild")
    chosen = str(form.data.get("image") or server.image_id or "")
    context.update({"form": form, "images": usable, "chosen": chosen})
    return render(request, "infra/servers/rebuild.html", context, status=400 if request.method == "POST" else 200)


class RenameForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=63,
        help_text=gettext_lazy(
            "1 to 63 letters, digits, dots, hyphens or underscores, starting with a letter or digit. The cloud's name"
            " changes too; the host name inside the instance stays until you change it there."
        ),
    )


@project_view
@require_http_methods(["GET", "HEAD", "POST"])
def server_rename(request: HttpRequest, scope: ProjectScope, server_id: uuid.UUID) -> HttpResponse:
    server = servers_ui.server_or_404(scope, server_id)
    _require_operate(scope, server)
    form = RenameForm(_posted(request), initial={"name": server.name})
    if request.method == "POST" and form.is_valid():
        try:
            renamed = actions.rename_server(actor=actor_for(request), server=server, name=form.cleaned_data["name"])
        except (NotFound, NotAllowed) as error:
            refuse(request, error)
        except ActionError as error:
            form.add_error("name", error.message)
        else:
            messages.success(request, _("The instance is now called %(name)s.") % {"name": renamed.name})
            return redirect(_server_url("server", scope, server))
    context = _form_context(request, scope, server, "rename")
    context["form"] = form
    return render(request, "infra/servers/rename.html", context, status=400 if request.method == "POST" else 200)


# --- live ------------------------------------------------------------------------------------------------------------


def live_detail(scope: ProjectScope, server: Server) -> str | None:
    """The detail page's changing parts for a role (it decides the operations), as oob fragments: the title, the
    header (status, progress, operations, banners; forms without a CSRF token, which console.js fills in), the
    overview's details and the addresses. A page that lacks an element ignores its fragment. Shared by the watchers
    of a role and language (`infra.live`): nothing in it may depend on the user but the key pair's link."""
    context = _parts(scope, server)
    context["live"] = True
    return render_to_string("infra/servers/_detail_live.html", context)


def live_console_log(scope: ProjectScope, pk: str) -> str | None:
    """The console log pane of server `pk`, when a task stored a new one (None for those who may not read it)."""
    if not _may_read_console(scope):
        return None
    try:
        server = servers_ui.server_or_404(scope, pk)
    except (Http404, ValueError, ValidationError):
        return None
    context = _console_context(scope, server)
    context["live"] = True
    return render_to_string("infra/servers/_console_log.html", context)
