"""The launch wizard: one page (/o/<org>/<project>/servers/launch/) whose later sections follow the earlier choices.

Region → image → instance type → count and names → network, security groups, key pair → user data, beside a summary
with the live quota check and a slot for the cost estimate. With htmx, a change reloads only what depends on it (the
region's sections, the image's instance types, the summary) through `hx-get` with the form's values; without
JavaScript, a "show" button posts the form back and the same page comes back with the new choices, launching nothing.

The page only reads (the catalog, quotas, the user's key pairs); `infra.actions.servers.create_servers` checks every
rule again and creates all the instances or none. A form id makes a resent form launch nothing more.

Billing fills the cost estimate with `register_estimator(fn)`: `fn(LaunchChoice) -> Estimate | None`. With no
estimator the slot says that prices are not set up (never a made-up number).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from console.core.forms import SendOnceForm
from console.core.htmx import render_page
from infra import catalog, project_regions, quotas
from infra.actions import servers as actions
from infra.models import CloudProject, Flavor, Image, Keypair, Region, Resource
from infra.models.quotas import UNLIMITED
from tenants.models import Project, Role
from tenants.policy import ActionError, NotAllowed, NotFound
from tenants.scope import ProjectScope, project_view
from tenants.views.base import actor_for, refuse

USER_DATA_LIMIT = actions.USER_DATA_MAX_BYTES

# --- the cost estimate's slot (billing registers here) ---------------------------------------------------------------


@dataclass(frozen=True)
class LaunchChoice:
    """What the person is about to launch, as an estimator sees it."""

    project: Project
    region: Region
    flavor: Flavor
    image: Image | None
    count: int


@dataclass(frozen=True)
class Estimate:
    """A cost estimate, already written for the reader (money formatted in their language by its estimator)."""

    monthly: str  # e.g. "₩52,560 a month"
    hourly: str = ""  # e.g. "₩72 an hour"
    note: str = ""  # e.g. "Disk and traffic are billed apart."


Estimator = Callable[[LaunchChoice], "Estimate | None"]
ESTIMATORS: list[Estimator] = []


def register_estimator(estimator: Estimator) -> Estimator:
    """Add a cost estimator (billing's). The first that answers for a choice fills the slot. Usable as a decorator."""
    ESTIMATORS.append(estimator)
    return estimator


def estimate(choice: LaunchChoice) -> Estimate | None:
    """The first estimator's answer for `choice`, or None (no estimator, or none can price it)."""
    for estimator in ESTIMATORS:
        answer = estimator(choice)
        if answer is not None:
            return answer
    return None


# --- what the page offers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionOption:
    region: Region
    cloud_project: CloudProject | None
    reason: str = ""  # why it cannot be chosen ("" when it can)
    not_set_up: bool = False  # the reason is that the project has no usable cloud project there

    @property
    def usable(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class FlavorOption:
    flavor: Flavor
    reason: str = ""  # why the chosen image cannot use it ("" when it can)


@dataclass(frozen=True)
class QuotaNeed:
    """One resource of the summary's quota check: what the launch needs and what the project has free."""

    label: str
    needed: str
    available: str
    fits: bool


@dataclass
class Wizard:
    """The page's state: the options of each section and what is chosen (from the form's values, else defaults)."""

    regions: list[RegionOption]
    region: RegionOption | None = None
    images: list[Image] = field(default_factory=list)
    image: Image | None = None
    flavors: list[FlavorOption] = field(default_factory=list)
    flavor: Flavor | None = None
    keypairs: list[Keypair] = field(default_factory=list)
    keypair: Keypair | None = None
    count: int = 1
    count_error: str = ""
    name: str = ""
    names: list[str] = field(default_factory=list)
    names_error: str = ""
    quota: list[QuotaNeed] = field(default_factory=list)
    shortfall: list[str] = field(default_factory=list)
    estimate: Estimate | None = None
    suspended: bool = False

    @property
    def names_preview(self) -> str:
        """ "web-1, web-2, web-3" or, for many, "web-1, web-2, …, web-20"."""
        if len(self.names) <= 4:
            return ", ".join(self.names)
        return ", ".join([*self.names[:2], "…", self.names[-1]])

    @property
    def blocker(self) -> str:
        """Why the Launch button is disabled now ("" when it is not)."""
        if self.suspended:
            return _("Your organization is suspended: new instances cannot be launched.")
        if self.region is None or not self.region.usable:
            return _("Choose a region that is available and set up for this project.")
        if self.image is None:
            return _("Choose an image.")
        if self.flavor is None:
            return _("Choose an instance type the image can use.")
        if self.count_error:
            return self.count_error
        if self.shortfall:
            return _("Not enough quota for this launch: launch fewer or smaller instances, or ask for more quota.")
        return ""


def flavor_unfit(image: Image | None, flavor: Flavor) -> str:
    """Why `image` cannot run on `flavor` (its minimum disk or RAM), or ""."""
    if image is None:
        return ""
    if image.min_disk_gb and flavor.disk_gb and image.min_disk_gb > flavor.disk_gb:
        return _("The image needs a disk of at least %(disk)s GiB.") % {"disk": image.min_disk_gb}
    if image.min_ram_mb and image.min_ram_mb > flavor.ram_mb:
        return _("The image needs at least %(ram)s GiB of RAM.") % {"ram": _gib(image.min_ram_mb)}
    return ""


def _gib(mib: int) -> str:
    gib = mib / 1024
    return f"{gib:.0f}" if gib == int(gib) else f"{gib:.1f}"


def _pick(options: list, value: object) -> object | None:
    """The option whose primary key the form sent, or None."""
    value = str(value or "")
    return next((option for option in options if str(option.pk) == value), None)


def own_keypairs(scope: ProjectScope, user: object) -> list[Keypair]:
    """The launching user's own key pairs in the project (key pairs are per user)."""
    return list(Keypair.objects.live().filter(project=scope.project, user=user).order_by("name", "created_at"))


def region_options(project: Project) -> list[RegionOption]:
    """The regions open to tenants, each with why it cannot be chosen: down, or the project not set up there."""
    options = []
    for item in project_regions.region_states(project):
        region, cloud_project = item.region, item.cloud_project
        if not region.is_available:
            reason = region.health_message or _("%(region)s is down.") % {"region": region.name}
            options.append(RegionOption(region, cloud_project, reason))
        elif not item.usable:
            reason = (
                _("Being set up for this project; try again in a minute.")
                if cloud_project is not None and cloud_project.status != CloudProject.Status.ERROR
                else _("Not set up for this project.")
            )
            options.append(RegionOption(region, cloud_project, reason, not_set_up=True))
        else:
            options.append(RegionOption(region, cloud_project))
    return options


def resolve(scope: ProjectScope, user: object, data: Mapping[str, str]) -> Wizard:
    """The page's state from the form's values (`data`: GET or POST), falling back to the defaults: the first usable
    region, the region's default image and instance type (else the first that fits), the user's first key pair."""
    wizard = Wizard(regions=region_options(scope.project), suspended=scope.organization.is_suspended)
    region = _pick([option.region for option in wizard.regions], data.get("region"))
    chosen = next((option for option in wizard.regions if option.region == region), None)
    wizard.region = chosen or next((o for o in wizard.regions if o.usable), None) or next(iter(wizard.regions), None)
    wizard.keypairs = own_keypairs(scope, user)
    if "region" in data:  # the form was sent: "" is "None"
        wizard.keypair = _pick(wizard.keypairs, data.get("keypair"))
    else:
        wizard.keypair = next(iter(wizard.keypairs), None)
    wizard.name = str(data.get("name", "")).strip()
    try:
        wizard.count = int(data.get("count") or 1)
    except (TypeError, ValueError):
        wizard.count, wizard.count_error = 1, _("The count is a whole number.")
    if not 1 <= wizard.count <= actions.MAX_COUNT:
        wizard.count_error = _("Launch between 1 and %(max)s instances at a time.") % {"max": actions.MAX_COUNT}
    if wizard.name and not wizard.count_error:
        try:
            wizard.names = actions.server_names(wizard.name, wizard.count)
        except ActionError as error:
            wizard.names_error = str(error.message)
    if wizard.region is None:
        return wizard
    region = wizard.region.region
    wizard.images = list(catalog.offered_images(region))
    wizard.image = (
        _pick(wizard.images, data.get("image"))
        or next((image for image in wizard.images if image.is_default), None)
        or next(iter(wizard.images), None)
    )
    wizard.flavors = [
        FlavorOption(flavor, flavor_unfit(wizard.image, flavor)) for flavor in catalog.offered_flavors(region)
    ]
    fitting = [option.flavor for option in wizard.flavors if not option.reason]
    wizard.flavor = (
        _pick(fitting, data.get("flavor"))
        or next((flavor for flavor in fitting if flavor.is_default), None)
        or next(iter(fitting), None)
    )
    if wizard.flavor is not None and wizard.region.usable and not wizard.count_error:
        needs = quotas.server_needs(wizard.flavor, wizard.count)
        wizard.shortfall = quotas.shortfall(scope.project, region, needs)
        wizard.quota = _quota_needs(scope.project, region, needs)
        wizard.estimate = estimate(LaunchChoice(scope.project, region, wizard.flavor, wizard.image, wizard.count))
    return wizard


QUOTA_LABELS = {
    Resource.INSTANCES: gettext_lazy("Instances"),
    Resource.CORES: gettext_lazy("vCPUs"),
    Resource.RAM_MB: gettext_lazy("RAM"),
}


def _quota_needs(project: Project, region: Region, needs: Mapping[str, int]) -> list[QuotaNeed]:
    limit, used = quotas.limits(project, region), quotas.usage(project, region)
    lines = []
    for resource, needed in needs.items():
        cap, have = limit[resource], used.get(resource, 0)
        free = None if cap == UNLIMITED else max(cap - have, 0)
        if resource == Resource.RAM_MB:
            needed_text = _("%(gib)s GiB") % {"gib": _gib(needed)}
            free_text = _("%(gib)s GiB") % {"gib": _gib(free)} if free is not None else _("unlimited")
        else:
            needed_text, free_text = str(needed), str(free) if free is not None else _("unlimited")
        lines.append(QuotaNeed(str(QUOTA_LABELS[resource]), needed_text, free_text, free is None or needed <= free))
    return lines


# --- the form ------------------------------------------------------------------------------------------------------


class KeypairChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Keypair) -> str:
        return obj.name


class LaunchForm(SendOnceForm):
    """What a launch sends. Choices are looked up broadly (any open region's catalog) so that a wrong one gets the
    reason it is wrong on its field; `create_servers` checks every rule again."""

    form_kind = "launch"

    region = forms.ModelChoiceField(
        label=gettext_lazy("Region"),
        queryset=Region.objects.none(),
        error_messages={"invalid_choice": gettext_lazy("Choose one of the regions shown.")},
    )
    image = forms.ModelChoiceField(
        label=gettext_lazy("Image"),
        queryset=Image.objects.none(),
        error_messages={"invalid_choice": gettext_lazy("Choose one of the images shown.")},
    )
    flavor = forms.ModelChoiceField(
        label=gettext_lazy("Instance type"),
        queryset=Flavor.objects.none(),
        error_messages={"invalid_choice": gettext_lazy("Choose one of the instance types shown.")},
    )
    count = forms.IntegerField(
        label=gettext_lazy("Count"),
        min_value=1,
        max_value=actions.MAX_COUNT,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "web-{n}"}),
    )
    keypair = KeypairChoiceField(
        label=gettext_lazy("Key pair"),
        queryset=Keypair.objects.none(),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Choose one of your own key pairs in this project.")},
    )
    user_data = forms.CharField(
        label=gettext_lazy("User data"),
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 8,
                "class": "font-monospace",
                "spellcheck": "false",
                "autocomplete": "off",
                "translate": "no",
                "placeholder": "#cloud-config\npackages:\n  - nginx",
            }
        ),
    )
    user_data_file = forms.FileField(label=gettext_lazy("Or upload a file"), required=False)

    def __init__(self, *args: object, scope: ProjectScope, user: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        open_regions = catalog.open_regions()
        self.fields["region"].queryset = open_regions
        self.fields["image"].queryset = Image.objects.live().filter(region__in=open_regions).select_related("region")
        self.fields["flavor"].queryset = Flavor.objects.live().filter(region__in=open_regions).select_related("region")
        self.fields["keypair"].queryset = Keypair.objects.live().filter(project=scope.project, user=user)

    def clean_user_data_file(self) -> str | None:
        """An uploaded file's text (it replaces what the box holds)."""
        upload = self.cleaned_data.get("user_data_file")
        if not upload:
            return None
        if upload.size > USER_DATA_LIMIT:
            raise forms.ValidationError(
                _("User data is limited to 64 KiB; this file is %(size)s KiB.") % {"size": f"{upload.size / 1024:.1f}"}
            )
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if data.get("user_data_file") is not None:
            data["user_data"] = data["user_data_file"]
        try:
            data["user_data"] = actions.validate_user_data(data.get("user_data") or "")
        except ActionError as error:
            self.add_error("user_data", str(error.message))
        name, count = data.get("name"), data.get("count")
        if name and count:
            try:
                actions.server_names(name, count)
            except ActionError as error:
                self.add_error("name", str(error.message))
        region, image, flavor = data.get("region"), data.get("image"), data.get("flavor")
        if region is None:
            return data
        option = next((o for o in region_options(self.scope.project) if o.region == region), None)
        if option is not None and option.reason:
            self.add_error("region", f"{region.name}: {option.reason}")
        if image is not None and (image.region_id != region.pk or not image.is_offered):
            self.add_error("image", _("%(image)s is not offered in %(region)s.") % {"image": image, "region": region})
            image = None
        if flavor is not None and (flavor.region_id != region.pk or not flavor.is_offered):
            self.add_error(
                "flavor", _("%(flavor)s is not offered in %(region)s.") % {"flavor": flavor.name, "region": region}
            )
        elif flavor is not None and (unfit := flavor_unfit(image, flavor)):
            self.add_error("flavor", _("%(flavor)s: %(reason)s") % {"flavor": flavor.name, "reason": unfit})
        return data


# --- views ---------------------------------------------------------------------------------------------------------

PARTIALS = {
    "launch-choices": "infra/servers/_launch_choices.html",
    "launch-flavors": "infra/servers/_launch_flavors.html",
    "launch-summary": "infra/servers/_launch_summary.html",
}
SENT_TWICE = gettext_lazy("This form was already sent: its instances are in the list.")


def _url(name: str, scope: ProjectScope, **kwargs: object) -> str:
    return reverse(name, kwargs={"org_slug": scope.organization.slug, "project_slug": scope.project.slug, **kwargs})


def _require_launch(scope: ProjectScope) -> None:
    if not scope.can(Role.MEMBER):
        raise PermissionDenied(_("Your role does not allow launching instances."))


def _initial(data: Mapping[str, str]) -> dict[str, object]:
    return {key: data[key] for key in ("name", "count", "user_data") if key in data}


def _launch(request: HttpRequest, scope: ProjectScope, form: LaunchForm) -> HttpResponse | None:
    """Launch what the valid form asks for; the response on success, None when refused (errors on the form)."""
    if not form.first_sending(request):
        form.add_error(None, SENT_TWICE)
        return None
    data = form.cleaned_data
    try:
        servers = actions.create_servers(
            actor=actor_for(request),
            project=scope.project,
            region=data["region"],
            name=data["name"],
            flavor=data["flavor"],
            image=data["image"],
            count=data["count"],
            keypair=data["keypair"],
            user_data=data["user_data"],
        )
    except (NotFound, NotAllowed) as error:
        refuse(request, error)
        raise  # refuse raises for these
    except ActionError as error:
        form.add_error(None, str(error.message))
        form.data = form.data.copy()
        form.data["form_id"] = str(uuid.uuid4())  # nothing was launched: the corrected form may be sent again
        return None
    if len(servers) == 1:
        messages.success(request, _("Launching %(name)s.") % {"name": servers[0].name})
        return redirect(_url("server", scope, server_id=servers[0].pk))
    messages.success(
        request,
        ngettext("Launching %(count)s instance: %(names)s.", "Launching %(count)s instances: %(names)s.", len(servers))
        % {"count": len(servers), "names": ", ".join(server.name for server in servers)},
    )
    return redirect(_url("servers", scope))


@project_view
@require_http_methods(["GET", "HEAD", "POST"])
def launch(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    _require_launch(scope)
    status = 200
    if request.method == "POST" and "refresh" not in request.POST:
        form = LaunchForm(request.POST, request.FILES, scope=scope, user=request.user)
        if form.is_valid():
            response = _launch(request, scope, form)
            if response is not None:
                return response
        text = form.cleaned_data.get("user_data")
        if text is not None and text != form.data.get("user_data"):  # an uploaded file's text, shown in the box
            form.data = form.data.copy()
            form.data["user_data"] = text
        data, status = form.data, 400
    else:
        data = request.POST if request.method == "POST" else request.GET
        form = LaunchForm(scope=scope, user=request.user, initial=_initial(data))
    wizard = resolve(scope, request.user, data)
    user_data = str(data.get("user_data", ""))
    errors = [*form.errors.get("user_data_file", []), *form.errors.get("user_data", [])] if form.is_bound else []
    context = {
        "scope": scope,
        "organization": scope.organization,
        "project": scope.project,
        "form": form,
        "wizard": wizard,
        "max_count": actions.MAX_COUNT,
        "user_data": user_data,
        "user_data_error": " ".join(errors),
        "user_data_size": len(user_data.replace("\r\n", "\n").encode()),
        "user_data_limit": USER_DATA_LIMIT,
        "launch_url": _url("server_launch", scope),
        "check_url": _url("server_launch_check", scope),
        "quotas_url": _url("quotas", scope),
    }
    return render_page(request, "infra/servers/launch.html", context, partials=PARTIALS, status=status)


@require_POST
@project_view
def launch_check(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    """The user data's check as it is typed or a file is chosen (htmx): its size against the limit and what
    cloud-init would refuse. A chosen file's text is put in the box. Reads only."""
    _require_launch(scope)
    user_data, error, from_file = str(request.POST.get("user_data", "")), "", False
    upload = request.FILES.get("user_data_file")
    if upload is not None:
        from_file = True
        if upload.size > USER_DATA_LIMIT:
            error = _("User data is limited to 64 KiB; this file is %(size)s KiB.") % {
                "size": f"{upload.size / 1024:.1f}"
            }
            user_data = ""
        else:
            try:
                user_data = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                user_data, error = "", _("The file is not UTF-8 text.")
    if not error:
        try:
            actions.validate_user_data(user_data)
        except ActionError as refusal:
            error = str(refusal.message)
    context = {
        "user_data": user_data,
        "user_data_size": len(user_data.replace("\r\n", "\n").encode()),
        "user_data_limit": USER_DATA_LIMIT,
        "user_data_error": error,
        "from_file": from_file,
        "check_url": _url("server_launch_check", scope),
    }
    template = "_launch_user_data_field.html" if from_file else "_launch_user_data_check.html"
    return render(request, f"infra/servers/{template}", context)
