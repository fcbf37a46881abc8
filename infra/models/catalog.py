"""Regions, the cloud projects console projects map to in each region, and each region's flavors and images."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from infra.providers.base import Health
from tenants.models import Project, TenantQuerySet


class Provider(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox")
    OPENSTACK = "openstack", _("OpenStack")


class Region(models.Model):
    """A place where resources run, served by one provider. Credentials are never stored here: `settings` names a
    clouds.yaml entry (`cloud`, optionally `clouds_file`) or the environment holds them (docs/operator.md).

    `settings` keys by provider: openstack — cloud, clouds_file, region_name, public_network, default_cidr,
    service_role, timeout; sandbox — speed, error_rate, latency_ms, outage, faults (see infra/providers/sandbox).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    enabled = models.BooleanField(_("open to tenants"), default=True)
    health = models.CharField(_("health"), max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    health_message = models.CharField(_("health details"), max_length=500, blank=True)
    health_latency_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    health_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last reconciled"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_available(self) -> bool:
        """Whether new resources may be asked for here (the launch wizard disables a region that is not)."""
        return self.enabled and self.health != Health.DOWN


class CloudProjectQuerySet(TenantQuerySet):
    membership_path = "project__organization__memberships"

    def live(self) -> CloudProjectQuerySet:
        return self.filter(deleted_at__isnull=True)


class CloudProject(models.Model):
    """A console project's project in one region's cloud: made by the console (`linked=False`) or an existing one
    an operator linked by id. One cloud project never belongs to two console projects."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("cloud project", "Queued")
        CREATING = "creating", pgettext_lazy("cloud project", "Setting up")
        ACTIVE = "active", pgettext_lazy("cloud project", "Active")
        ERROR = "error", pgettext_lazy("cloud project", "Error")
        VANISHED = "vanished", pgettext_lazy("cloud project", "Missing in the cloud")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="cloud_projects")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="cloud_projects")
    provider_id = models.CharField(_("cloud project id"), max_length=64, blank=True)
    linked = models.BooleanField(_("linked existing project"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    error_message = models.CharField(_("error"), max_length=500, blank=True)
    request_id = models.UUIDField(default=uuid.uuid4, editable=False)
    network_id = models.CharField(_("default network"), max_length=64, blank=True)
    subnet_id = models.CharField(max_length=64, blank=True)
    router_id = models.CharField(max_length=64, blank=True)
    cidr = models.CharField(_("default network range"), max_length=43, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    synced_at = models.DateTimeField(_("last reconciled"), null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = CloudProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("cloud project")
        verbose_name_plural = _("cloud projects")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "region"],
                condition=models.Q(deleted_at__isnull=True),
                name="infra_cloudproject_one_per_region",
            ),
            models.UniqueConstraint(
                fields=["region", "provider_id"],
                condition=~models.Q(provider_id=""),
                name="infra_cloudproject_provider_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} in {self.region}"

    @property
    def cloud_name(self) -> str:
        """The name of the cloud project the console makes for its project (unique in the region)."""
        return f"hn-{self.project_id}"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.ACTIVE and bool(self.provider_id)


class CatalogQuerySet(models.QuerySet):
    """Flavors or images: `live()` still in the cloud, `offered()` what tenants see and may launch with."""

    def live(self) -> CatalogQuerySet:
        return self.filter(deleted_at__isnull=True)

    def offered(self) -> CatalogQuerySet:
        return self.live().filter(visible=True)


class ImageQuerySet(CatalogQuerySet):
    def offered(self) -> ImageQuerySet:
        return super().offered().filter(status="active")


class Flavor(models.Model):
    """A region's instance type, mirrored from the cloud by the reconciler."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="flavors")
    provider_id = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=100)
    vcpus = models.PositiveIntegerField(_("vCPUs"))
    ram_mb = models.PositiveIntegerField(_("RAM (MiB)"))
    disk_gb = models.PositiveIntegerField(_("disk (GiB)"))
    # Curated by operators (the reconciler never touches these):
    visible = models.BooleanField(_("shown to tenants"), default=True)
    label = models.CharField(_("label"), max_length=60, blank=True, help_text=_("e.g. General purpose"))
    position = models.PositiveIntegerField(_("order"), default=0)
    is_default = models.BooleanField(_("default"), default=False)
    synced_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        verbose_name = _("instance type")
        verbose_name_plural = _("instance types")
        ordering = ["position", "vcpus", "ram_mb", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "provider_id"], name="infra_flavor_provider_id_unique"),
            models.UniqueConstraint(
                fields=["region"],
                condition=models.Q(is_default=True, deleted_at__isnull=True),
                name="infra_flavor_one_default_per_region",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def ram_gib(self) -> float:
        return self.ram_mb / 1024

    @property
    def is_offered(self) -> bool:
        """Whether tenants see it and may launch with it."""
        return self.visible and self.deleted_at is None


class ImageLogo(models.TextChoices):
    """The logos an operator can put on an image: the sprite's `brand-<value>` icons, and a generic one (`linux`)."""

    UBUNTU = "ubuntu", "Ubuntu"
    DEBIAN = "debian", "Debian"
    REDHAT = "redhat", "Red Hat, Rocky, Alma, CentOS"
    WINDOWS = "windows", "Windows"
    LINUX = "linux", _("Other Linux")


# The cloud's `os_distro` (glance's property, lower-cased) -> the logo shown when the operator has chosen none.
DISTRO_LOGOS = {
    "ubuntu": ImageLogo.UBUNTU,
    "debian": ImageLogo.DEBIAN,
    "rhel": ImageLogo.REDHAT,
    "redhat": ImageLogo.REDHAT,
    "centos": ImageLogo.REDHAT,
    "rocky": ImageLogo.REDHAT,
    "almalinux": ImageLogo.REDHAT,
    "alma": ImageLogo.REDHAT,
    "fedora": ImageLogo.REDHAT,
    "oraclelinux": ImageLogo.REDHAT,
    "windows": ImageLogo.WINDOWS,
}
# The cloud's `os_distro` as people write it (glance's values are lower-case codes).
DISTRO_NAMES = {
    "ubuntu": "Ubuntu",
    "debian": "Debian",
    "rhel": "Red Hat Enterprise Linux",
    "redhat": "Red Hat Enterprise Linux",
    "centos": "CentOS",
    "rocky": "Rocky Linux",
    "almalinux": "AlmaLinux",
    "alma": "AlmaLinux",
    "fedora": "Fedora",
    "oraclelinux": "Oracle Linux",
    "windows": "Windows",
    "opensuse": "openSUSE",
    "sles": "SUSE Linux Enterprise",
    "arch": "Arch Linux",
    "alpine": "Alpine Linux",
    "freebsd": "FreeBSD",
    "cirros": "CirrOS",
}
LINUX_DISTROS = ("linux", "arch", "opensuse", "sles", "suse", "alpine", "gentoo", "freebsd", "cirros", "coreos")


class Image(models.Model):
    """A region's image, mirrored from the cloud by the reconciler."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="images")
    provider_id = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(_("status"), max_length=20)
    size_bytes = models.BigIntegerField(_("size"), default=0)
    min_disk_gb = models.PositiveIntegerField(default=0)
    min_ram_mb = models.PositiveIntegerField(default=0)
    os_distro = models.CharField(_("operating system"), max_length=50, blank=True)
    os_version = models.CharField(_("version"), max_length=50, blank=True)
    # Curated by operators (the reconciler never touches these); a blank label shows the cloud's value:
    visible = models.BooleanField(_("shown to tenants"), default=True)
    label = models.CharField(_("display name"), max_length=100, blank=True)
    os_label = models.CharField(_("operating system label"), max_length=50, blank=True)
    version_label = models.CharField(_("version label"), max_length=50, blank=True)
    logo = models.CharField(_("logo"), max_length=20, choices=ImageLogo.choices, blank=True)
    position = models.PositiveIntegerField(_("order"), default=0)
    is_default = models.BooleanField(_("default"), default=False)
    synced_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        verbose_name = _("image")
        verbose_name_plural = _("images")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "provider_id"], name="infra_image_provider_id_unique"),
            models.UniqueConstraint(
                fields=["region"],
                condition=models.Q(is_default=True, deleted_at__isnull=True),
                name="infra_image_one_default_per_region",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.label or self.name

    @property
    def shown_os(self) -> str:
        return self.os_label or self.os_distro

    @property
    def shown_version(self) -> str:
        return self.version_label or self.os_version

    @property
    def os_name(self) -> str:
        """The operating system as tenants read it: the operator's label, else the cloud's value written out."""
        if self.os_label:
            return self.os_label
        return DISTRO_NAMES.get((self.os_distro or "").strip().lower(), self.os_distro)

    @property
    def suggested_logo(self) -> str:
        """The logo its `os_distro` suggests ("" when it suggests none): what is shown until an operator picks one."""
        distro = (self.os_distro or "").strip().lower()
        if not distro:
            return ""
        if distro in DISTRO_LOGOS:
            return DISTRO_LOGOS[distro]
        if distro.startswith("win"):
            return ImageLogo.WINDOWS
        if distro.startswith(LINUX_DISTROS):
            return ImageLogo.LINUX
        return ""

    @property
    def shown_logo(self) -> str:
        """The operator's logo, else the suggested one ("" for none)."""
        return self.logo or self.suggested_logo

    @property
    def is_offered(self) -> bool:
        """Whether tenants see it and may launch with it."""
        return self.visible and self.deleted_at is None and self.status == "active"
