"""A console project in a region: activating it (the console makes the cloud project and its default network) or
linking an existing cloud project to it (operators only: one cloud project never belongs to two console projects)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.core import live
from infra.models import CloudProject, Region
from tenants.audit import Actor, record
from tenants.audit_labels import register_actions
from tenants.models import Project, Role
from tenants.policy import ActionError, Conflict, NotFound, Operation, authorize


def register_audit_labels() -> None:
    """The activity pages' labels of a project's regions (called from InfraConfig.ready; tenants owns the group)."""
    register_actions(
        "project",
        gettext_lazy("Projects"),
        {
            "project.region.activate": gettext_lazy("Region activation asked"),
            "project.region.ready": gettext_lazy("Project ready in a region"),
            "project.region.error": gettext_lazy("Project could not be set up in a region"),
            "project.region.link": gettext_lazy("Existing cloud project linked"),
            "project.region.vanished": gettext_lazy("Cloud project gone from the cloud"),
        },
    )


def _enqueue(cloud_project: CloudProject) -> None:
    from infra import tasks

    pk = str(cloud_project.pk)
    transaction.on_commit(lambda: tasks.drive_cloud_project.delay(pk), robust=True)


def _ensure_open(region: Region) -> None:
    if not region.is_available:
        raise ActionError(
            _("%(region)s does not take new projects right now: %(reason)s")
            % {"region": region.name, "reason": region.health_message or region.get_health_display()}
        )


def _existing(project: Project, region: Region) -> CloudProject | None:
    return CloudProject.objects.live().filter(project=project, region=region).first()


@transaction.atomic
def activate_region(*, actor: Actor, project: Project, region: Region) -> CloudProject:
    """Set the project up in the region: a task makes its cloud project with a default private network routed to
    the public network. Asking again after an error tries again."""
    authorize(actor, project.organization, minimum=Role.ADMIN, operation=Operation.CREATE)
    _ensure_open(region)
    Project.objects.select_for_update().filter(pk=project.pk).first()  # one activation at a time per project
    existing = _existing(project, region)
    if existing is not None:
        if existing.status != CloudProject.Status.ERROR:
            raise Conflict(_("%(project)s is already active in %(region)s.") % {"project": project, "region": region})
        CloudProject.objects.filter(pk=existing.pk).update(
            status=CloudProject.Status.PENDING, error_message="", attempts=0, claim_token=None
        )
        existing.refresh_from_db()
        cloud_project = existing
    else:
        cloud_project = CloudProject.objects.create(project=project, region=region)
    record(actor, "project.region.activate", project=project, target=cloud_project, after={"region": region.slug})
    live.publish(project, "cloud_project", cloud_project.pk)
    _enqueue(cloud_project)
    return cloud_project


@transaction.atomic
def link_cloud_project(*, actor: Actor, project: Project, region: Region, provider_id: str) -> CloudProject:
    """Operators only: map an existing cloud project (by its id) to a console project; servers already in it are
    adopted by the next reconcile."""
    if not actor.user.is_operator:
        raise NotFound()
    provider_id = provider_id.strip()
    if not provider_id or len(provider_id) > 64:
        raise ActionError(_("Give the cloud project's id (up to 64 characters)."))
    if _existing(project, region) is not None:
        raise Conflict(_("%(project)s already has a project in %(region)s.") % {"project": project, "region": region})
    taken = CloudProject.objects.filter(region=region, provider_id=provider_id).select_related("project").first()
    if taken is not None:
        raise Conflict(
            _("The cloud project %(id)s already belongs to %(project)s.")
            % {"id": provider_id, "project": taken.project}
        )
    try:
        with transaction.atomic():
            cloud_project = CloudProject.objects.create(
                project=project, region=region, provider_id=provider_id, linked=True
            )
    except IntegrityError as error:
        raise Conflict(_("The cloud project %(id)s is already linked.") % {"id": provider_id}) from error
    record(
        actor,
        "project.region.link",
        project=project,
        target=cloud_project,
        after={"region": region.slug, "provider_id": provider_id},
    )
    _enqueue(cloud_project)
    return cloud_project
