"""The sandbox cloud's own tables: what a small OpenStack would keep, per region.

Every row carries the id of the console `Region` it belongs to (`region_id`, a plain UUID, not a foreign key: the
sandbox is a cloud of its own, and two sandbox regions never share a row). The console's mirror (infra.models) never
reads these tables; only `SandboxDriver` does, as the OpenStack driver only talks to OpenStack.

A server's state is not advanced by any process: a row stores its settled state plus the transition in progress
(`task`, when it started, how long it takes, what it ends in), and readers derive the state at the time they read.
"""

from __future__ import annotations

import uuid

from django.db import models


def _hex_id() -> str:
    return uuid.uuid4().hex


class SandboxProject(models.Model):
    """A cloud project (keystone-like: 32 hex digit ids)."""

    id = models.CharField(primary_key=True, max_length=32, default=_hex_id, editable=False)
    region_id = models.UUIDField(db_index=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    tags = models.JSONField(default=list, blank=True)
    access_granted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["region_id", "name"], name="sandbox_project_name_unique")]

    def __str__(self) -> str:
        return self.name


class SandboxQuota(models.Model):
    """A project's limit that was set (unset limits take the region's defaults); -1 is unlimited, as in nova."""

    project = models.ForeignKey(SandboxProject, on_delete=models.CASCADE, related_name="quotas")
    resource = models.CharField(max_length=40)
    limit = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "resource"], name="sandbox_quota_unique")]

    def __str__(self) -> str:
        return f"{self.resource}={self.limit}"


class SandboxFlavor(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region_id = models.UUIDField(db_index=True)
    name = models.CharField(max_length=100)
    vcpus = models.PositiveIntegerField()
    ram_mb = models.PositiveIntegerField()
    disk_gb = models.PositiveIntegerField()
    is_public = models.BooleanField(default=True)

    class Meta:
        ordering = ["vcpus", "ram_mb", "disk_gb", "name"]
        constraints = [models.UniqueConstraint(fields=["region_id", "name"], name="sandbox_flavor_name_unique")]

    def __str__(self) -> str:
        return self.name


class SandboxImage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region_id = models.UUIDField(db_index=True)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=20, default="active")
    size_bytes = models.BigIntegerField(default=0)
    min_disk_gb = models.PositiveIntegerField(default=0)
    min_ram_mb = models.PositiveIntegerField(default=0)
    os_distro = models.CharField(max_length=50, blank=True)
    os_version = models.CharField(max_length=50, blank=True)
    login_user = models.CharField(max_length=50, blank=True)  # for the console log's cloud-init lines
    visibility = models.CharField(max_length=20, default="public")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["region_id", "name"], name="sandbox_image_name_unique")]

    def __str__(self) -> str:
        return self.name


class SandboxNetwork(models.Model):
    """A network: a project's own (project set), or the region's external public network (project null)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region_id = models.UUIDField(db_index=True)
    project = models.ForeignKey(SandboxProject, on_delete=models.CASCADE, null=True, related_name="networks")
    name = models.CharField(max_length=255)
    external = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One public network per region, even when two projects ask for it at once.
            models.UniqueConstraint(
                fields=["region_id"], condition=models.Q(external=True), name="sandbox_one_public_network"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SandboxSubnet(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    network = models.ForeignKey(SandboxNetwork, on_delete=models.CASCADE, related_name="subnets")
    name = models.CharField(max_length=255)
    cidr = models.CharField(max_length=43)
    gateway_ip = models.GenericIPAddressField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} {self.cidr}"


class SandboxRouter(models.Model):
    """A project's router; its gateway takes an address on the region's public network."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region_id = models.UUIDField(db_index=True)
    project = models.ForeignKey(SandboxProject, on_delete=models.CASCADE, related_name="routers")
    name = models.CharField(max_length=255)
    external_network = models.ForeignKey(SandboxNetwork, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class SandboxServer(models.Model):
    """A server. `status` is the settled state the current `task` started from (or ended in, once applied);
    `task` / `task_started_at` / `task_seconds` / `task_result` describe the transition in progress."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region_id = models.UUIDField(db_index=True)
    project = models.ForeignKey(SandboxProject, on_delete=models.CASCADE, related_name="servers")
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=20)  # a settled base.Status value
    task = models.CharField(max_length=20, blank=True)
    task_started_at = models.DateTimeField(null=True, blank=True)
    task_seconds = models.FloatField(default=0)
    task_result = models.JSONField(default=dict, blank=True)
    flavor = models.ForeignKey(SandboxFlavor, on_delete=models.PROTECT, related_name="+")
    old_flavor = models.ForeignKey(SandboxFlavor, on_delete=models.PROTECT, null=True, related_name="+")
    image = models.ForeignKey(SandboxImage, on_delete=models.PROTECT, related_name="+")
    keypair_name = models.CharField(max_length=255, blank=True)
    keypair_fingerprint = models.CharField(max_length=100, blank=True)
    user_data = models.TextField(blank=True)
    security_groups = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    locked = models.BooleanField(default=False)
    fault = models.TextField(blank=True)
    resize_from = models.CharField(max_length=20, blank=True)  # the status a resize started in (ACTIVE or STOPPED)
    created_at = models.DateTimeField()
    launched_at = models.DateTimeField(null=True, blank=True)  # the last boot (build, start, reboot, rebuild …)
    deleted_at = models.DateTimeField(null=True, blank=True)  # set once a finished delete is applied

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "deleted_at"], name="sandbox_server_project")]

    def __str__(self) -> str:
        return self.name


class SandboxPort(models.Model):
    """An address taken on a subnet: a server's, a router's interface, or the DHCP port. Unique per subnet."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subnet = models.ForeignKey(SandboxSubnet, on_delete=models.CASCADE, related_name="ports")
    server = models.ForeignKey(SandboxServer, on_delete=models.CASCADE, null=True, related_name="ports")
    router = models.ForeignKey(SandboxRouter, on_delete=models.CASCADE, null=True, related_name="ports")
    device_owner = models.CharField(max_length=40)
    ip = models.GenericIPAddressField()
    mac = models.CharField(max_length=17)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["subnet", "ip"], name="sandbox_port_ip_unique")]

    def __str__(self) -> str:
        return self.ip


class SandboxKeypair(models.Model):
    """Key pairs belong to the console's service user, as in nova: one name space per region (callers namespace the
    names); `project` records where it was made, for the key_pairs quota."""

    region_id = models.UUIDField(db_index=True)
    project = models.ForeignKey(SandboxProject, on_delete=models.CASCADE, related_name="keypairs")
    name = models.CharField(max_length=255)
    public_key = models.TextField()
    fingerprint = models.CharField(max_length=100)
    type = models.CharField(max_length=10, default="ssh")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["region_id", "name"], name="sandbox_keypair_name_unique")]

    def __str__(self) -> str:
        return self.name
