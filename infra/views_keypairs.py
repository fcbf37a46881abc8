"""A project's key pairs: the list, importing a public key, generating a key pair (the private key offered once as a
download), one key pair's page, and deleting one.

A member sees their own key pairs, owners and admins every member's (with an owner column); viewers read the list
without buttons. Another member's key pair is a 404 for a member, as another tenant's is for everyone.

The page that answers a generate is the only place the private key ever appears: it is rendered into that response
(Cache-Control: no-store), not into the session, messages, cache or logs, and cannot be shown again. A form id kept
in the cache (the id only) makes a resent form (a reload of that page) generate nothing more.
"""

from __future__ import annotations

import base64
import re
import uuid

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import format_lazy
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from console.core.forms import SendOnceForm
from console.core.htmx import TABLE_PARTIAL, render_page
from console.core.tables import FilterSet, Table, build_table
from infra import keys
from infra.actions import keypairs as actions
from infra.models import Keypair
from tenants.models import Role
from tenants.policy import ActionError, NotAllowed, NotFound
from tenants.scope import ProjectScope, project_view
from tenants.views.base import actor_for, refuse

NUMBER = {"th": {"class": "text-end"}, "td": {"class": "text-end text-nowrap"}}


def _sees_all(scope: ProjectScope) -> bool:
    """Owners, admins and visiting operators see every member's key pairs."""
    return scope.membership is None or actions.sees_every_keypair(scope.role)


def _visible(request: HttpRequest, scope: ProjectScope) -> QuerySet[Keypair]:
    return actions.visible_keypairs(scope.project, user=request.user, sees_all=_sees_all(scope))


def _can_delete(scope: ProjectScope, keypair: Keypair, user_id: int) -> bool:
    if keypair.user_id == user_id:
        return scope.can(Role.MEMBER)
    return scope.can(Role.ADMIN)


def _url(name: str, scope: ProjectScope, **kwargs: object) -> str:
    return reverse(name, kwargs={"org_slug": scope.organization.slug, "project_slug": scope.project.slug, **kwargs})


def type_label(keypair: Keypair) -> str:
    """ "Ed25519", "RSA 4096", "ECDSA P-256"."""
    label = keypair.get_key_type_display()
    return f"{label} {keypair.bits}" if keypair.key_type == keys.RSA else label


# --- list ----------------------------------------------------------------------------------------------------------


class KeypairFilter(FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=gettext_lazy("Search"),
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("Name, comment, fingerprint or owner")}
        ),
    )
    key_type = django_filters.ChoiceFilter(
        label=gettext_lazy("Type"), empty_label=gettext_lazy("All"), choices=Keypair.Type.choices
    )

    class Meta:
        model = Keypair
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(
            Q(name__icontains=value)
            | Q(comment__icontains=value)
            | Q(fingerprint__icontains=value)
            | Q(user__email__icontains=value)
            | Q(user__name__icontains=value)
        )


class KeypairTable(Table):
    name = tables.Column(verbose_name=gettext_lazy("Name"), order_by=("name", "created_at"))
    key_type = tables.Column(verbose_name=gettext_lazy("Type"), order_by=("key_type", "bits", "name"))
    fingerprint = tables.Column(verbose_name=gettext_lazy("Fingerprint"), orderable=False)
    user = tables.Column(verbose_name=gettext_lazy("Owner"), order_by=("user__email", "name"))
    server_count = tables.Column(verbose_name=gettext_lazy("Instances"), attrs=NUMBER)
    created_at = tables.Column(verbose_name=gettext_lazy("Created"), order_by=("created_at", "name"))
    actions = tables.Column(
        verbose_name=gettext_lazy("Actions"), empty_values=(), orderable=False, attrs={"td": {"class": "text-end w-1"}}
    )

    empty_icon = "key"
    empty_title = gettext_lazy("No key pairs yet")
    empty_description = gettext_lazy(
        "A key pair lets you sign in to your instances with SSH. Import the public key you already use, or let the "
        "console generate a new key pair."
    )

    def __init__(self, *args: object, scope: ProjectScope, user_id: int, **kwargs: object) -> None:
        self.scope, self.user_id = scope, user_id
        exclude = [] if _sees_all(scope) else ["user"]
        if not scope.can(Role.MEMBER):
            exclude.append("actions")
        super().__init__(*args, exclude=exclude, **kwargs)
        if "actions" not in exclude:  # a header for screen readers only, as in the console's other tables
            self.columns["actions"].column.verbose_name = format_html(
                '<span class="visually-hidden">{}</span>', _("Actions")
            )

    def render_name(self, record: Keypair) -> str:
        url = _url("keypair", self.scope, keypair_id=record.pk)
        comment = (
            format_html(
                '<div class="text-secondary small text-truncate cell-truncate" title="{0}">{0}</div>', record.comment
            )
            if record.comment
            else ""
        )
        return format_html('<a class="fw-medium text-break" href="{}">{}</a>{}', url, record.name, comment)

    def render_key_type(self, record: Keypair) -> str:
        badge = (
            format_html(' <span class="badge bg-azure-lt ms-1">{}</span>', _("generated")) if record.generated else ""
        )
        return format_html('<span class="text-nowrap">{}</span>{}', type_label(record), badge)

    def render_fingerprint(self, value: str) -> str:
        return format_html('<code class="small text-break" title="{0}">{0}</code>', value)

    def render_user(self, record: Keypair) -> str:
        you = (
            format_html(' <span class="badge bg-secondary-lt ms-1">{}</span>', _("you"))
            if record.user_id == self.user_id
            else ""
        )
        return format_html(
            '<div class="text-nowrap">{}{}</div><div class="small text-secondary text-truncate cell-truncate" '
            'title="{}">{}</div>',
            record.user.display_name,
            you,
            record.user.email,
            record.user.email,
        )

    def render_server_count(self, value: int) -> str:
        return intcomma(value)

    def render_created_at(self, value: object) -> str:
        local = localtime(value)
        return format_html(
            '<time datetime="{}" class="text-nowrap">{}</time>',
            local.isoformat(),
            date_format(local, "SHORT_DATE_FORMAT"),
        )

    def render_actions(self, record: Keypair) -> str:
        if not _can_delete(self.scope, record, self.user_id):
            return ""
        return render_to_string(
            "infra/keypairs/_delete_button.html",
            {"keypair": record, "delete_url": _url("keypair_delete", self.scope, keypair_id=record.pk), "small": True},
            request=getattr(self, "request", None),
        )


@project_view
@require_http_methods(["GET", "HEAD"])
def keypairs(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    filters = KeypairFilter(request.GET, queryset=_visible(request, scope))
    table = build_table(
        request,
        KeypairTable,
        filters.qs,
        filters=filters,
        order_by=("name",),
        caption=_("Key pairs"),
        scope=scope,
        user_id=request.user.pk,
    )
    context = {
        "scope": scope,
        "organization": scope.organization,
        "project": scope.project,
        "table": table,
        "sees_all": _sees_all(scope),
        "can_create": scope.can(Role.MEMBER),
    }
    return render_page(request, "infra/keypairs/list.html", context, partials={"table": TABLE_PARTIAL})


# --- import --------------------------------------------------------------------------------------------------------


class ImportForm(forms.Form):
    public_key = forms.CharField(
        label=gettext_lazy("Public key"),
        max_length=keys.MAX_KEY_BYTES,
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 5,
                "class": "font-monospace",
                "spellcheck": "false",
                "autocomplete": "off",
                "placeholder": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… you@laptop",
                "translate": "no",  # a key, never text to translate
            }
        ),
        help_text=format_lazy(
            gettext_lazy(
                "The contents of your public key file, e.g. {file}: Ed25519, RSA (2048 bits or more) or ECDSA. "
                "Never paste a private key."
            ),
            file=mark_safe('<code translate="no">~/.ssh/id_ed25519.pub</code>'),
        ),
    )
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=actions.NAME_MAX,
        required=False,
        help_text=format_lazy(
            gettext_lazy("Left blank, it is taken from the key's comment (e.g. {example})."),
            example=mark_safe('<code translate="no">you@laptop → you-laptop</code>'),
        ),
    )


def _require_create(scope: ProjectScope) -> None:
    if not scope.can(Role.MEMBER):
        raise PermissionDenied(_("Your role does not allow creating key pairs."))


@project_view
@require_http_methods(["GET", "HEAD", "POST"])
def keypair_import(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    _require_create(scope)
    form = ImportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            keypair = actions.import_keypair(
                actor=actor_for(request),
                project=scope.project,
                name=form.cleaned_data["name"],
                public_key=form.cleaned_data["public_key"],
            )
        except (NotFound, NotAllowed) as error:
            refuse(request, error)
        except ActionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Key pair “%(name)s” imported.") % {"name": keypair.name})
            return redirect(_url("keypair", scope, keypair_id=keypair.pk))
    context = {"scope": scope, "organization": scope.organization, "project": scope.project, "form": form}
    return render(request, "infra/keypairs/import.html", context, status=400 if request.method == "POST" else 200)


# --- generate ------------------------------------------------------------------------------------------------------


class GenerateForm(SendOnceForm):
    form_kind = "keypair"  # one key pair per form shown: its private key is never kept

    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=actions.NAME_MAX,
        help_text=gettext_lazy("1 to 64 letters, digits, spaces, dots, hyphens or underscores."),
    )
    key_type = forms.ChoiceField(
        label=gettext_lazy("Type"),
        choices=[
            (keys.ED25519, gettext_lazy("Ed25519 (recommended): short, fast and secure")),
            (keys.RSA, gettext_lazy("RSA 4096 bits: for older systems that lack Ed25519")),
        ],
        initial=keys.ED25519,
    )


def private_key_file_name(name: str) -> str:
    return "id_" + (re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.") or "haneul")


@project_view
@require_http_methods(["GET", "HEAD", "POST"])
def keypair_generate(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    _require_create(scope)
    form = GenerateForm(request.POST or None)
    created: dict[str, object] | None = None
    if request.method == "POST" and form.is_valid() and not form.first_sending(request):
        form.add_error(
            None,
            _(
                "This form was already sent, and its key pair is in the list. Its private key was offered once: if "
                "you did not save it, delete that key pair and generate another."
            ),
        )
    elif request.method == "POST" and form.is_valid():
        try:
            keypair, private_key = actions.generate_keypair(
                actor=actor_for(request),
                project=scope.project,
                name=form.cleaned_data["name"],
                key_type=form.cleaned_data["key_type"],
            )
        except (NotFound, NotAllowed) as error:
            refuse(request, error)
        except ActionError as error:
            form.add_error(None, error.message)
        else:
            created = {
                "keypair": keypair,
                "type_label": type_label(keypair),
                "private_key": private_key,
                "data_url": "data:application/octet-stream;base64," + base64.b64encode(private_key.encode()).decode(),
                "file_name": private_key_file_name(keypair.name),
                "keypair_url": _url("keypair", scope, keypair_id=keypair.pk),
            }
    context = {
        "scope": scope,
        "organization": scope.organization,
        "project": scope.project,
        "form": form,
        "created": created,
    }
    status = 201 if created else (400 if request.method == "POST" else 200)
    response = render(request, "infra/keypairs/generate.html", context, status=status)
    response["Cache-Control"] = "no-store"  # a page that may hold a private key is never cached
    return response


# --- one key pair --------------------------------------------------------------------------------------------------


def _keypair_or_404(request: HttpRequest, scope: ProjectScope, keypair_id: uuid.UUID) -> Keypair:
    keypair = _visible(request, scope).filter(pk=keypair_id).first()
    if keypair is None:
        raise Http404
    return keypair


@project_view
@require_http_methods(["GET", "HEAD"])
def keypair(request: HttpRequest, scope: ProjectScope, keypair_id: uuid.UUID) -> HttpResponse:
    row = _keypair_or_404(request, scope, keypair_id)
    servers = list(row.servers.live().order_by("name").values_list("name", flat=True)[:20])
    context = {
        "scope": scope,
        "organization": scope.organization,
        "project": scope.project,
        "keypair": row,
        "type_label": type_label(row),
        "servers": servers,
        "sees_all": _sees_all(scope),
        "can_delete": _can_delete(scope, row, request.user.pk),
        "delete_url": _url("keypair_delete", scope, keypair_id=row.pk),
        "list_url": _url("keypairs", scope),
    }
    return render(request, "infra/keypairs/detail.html", context)


@require_POST
@project_view
def keypair_delete(request: HttpRequest, scope: ProjectScope, keypair_id: uuid.UUID) -> HttpResponse:
    row = _keypair_or_404(request, scope, keypair_id)
    try:
        actions.delete_keypair(actor=actor_for(request), keypair=row)
    except ActionError as error:
        refuse(request, error)
        return redirect(_url("keypair", scope, keypair_id=row.pk))
    messages.success(
        request,
        _("Key pair “%(name)s” deleted. Instances launched with it keep it.") % {"name": row.name},
    )
    return redirect(_url("keypairs", scope))
