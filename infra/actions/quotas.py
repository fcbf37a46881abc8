"""Quotas and quota increase requests: operators set a project's limits in a region and each region's defaults;
tenants ask for more, operators approve (the limit changes and is pushed to the cloud) or reject with a reason, and
the requester is told in the console and by e-mail. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra import quotas
from infra.models import CloudProject, ProjectQuota, QuotaRequest, Region, RegionQuotaDefaults, Resource
from infra.models.quotas import UNLIMITED
from tenants.audit import Actor, record
from tenants.audit_labels import FIELD_LABELS, register_actions
from tenants.models import Project, Role, User
from tenants.notify import notify
from tenants.policy import ActionError, Conflict, NotAllowed, NotFound, Operation, authorize, ensure_operator

MAX_LIMIT = 1_000_000_000  # a sanity bound on any limit (RAM in MiB is the largest number)
REASON_MIN = 10
REASON_MAX = 2000


def register_audit_labels() -> None:
    register_actions(
        "quota",
        gettext_lazy("Quotas"),
        {
            "quota.update": gettext_lazy("Quotas changed"),
            "quota.defaults": gettext_lazy("Default quotas of a region changed"),
            "quota_request.create": gettext_lazy("Quota increase requested"),
            "quota_request.cancel": gettext_lazy("Quota increase request withdrawn"),
            "quota_request.approve": gettext_lazy("Quota increase approved"),
            "quota_request.reject": gettext_lazy("Quota increase rejected"),
        },
    )
    FIELD_LABELS.update({resource.value: resource.label for resource in Resource})
    FIELD_LABELS.update(
        {
            "resource": gettext_lazy("resource"),
            "requested_limit": gettext_lazy("requested limit"),
            "current_limit": gettext_lazy("limit when asked"),
            "reason": gettext_lazy("reason"),
        }
    )


def _limit_value(resource: str, value: Any, *, blank: bool) -> int | None:
    """A limit as given in a form or an API body: an integer from -1 (unlimited) up; blank (None) where allowed."""
    if value is None or value == "":
        if blank:
            return None
        raise ActionError(_("%(resource)s needs a limit.") % {"resource": Resource(resource).label})
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ActionError(
            _("%(resource)s: a limit is a whole number.") % {"resource": Resource(resource).label}
        ) from None
    if number < UNLIMITED or number > MAX_LIMIT:
        raise ActionError(
            _("%(resource)s: a limit is -1 (unlimited) or a number from 0 to %(max)s.")
            % {"resource": Resource(resource).label, "max": MAX_LIMIT}
        )
    return number


def _resource(value: str) -> Resource:
    try:
        return Resource(value)
    except ValueError:
        raise ActionError(_("Unknown resource: %(value)s.") % {"value": value}) from None


def _push(project: Project, region: Region) -> None:
    from infra import tasks

    cloud_project = CloudProject.objects.live().filter(project=project, region=region).first()
    if cloud_project is not None:
        pk = str(cloud_project.pk)
        transaction.on_commit(lambda: tasks.push_quotas.delay(pk), robust=True)


def _apply(project: Project, region: Region, changes: Mapping[str, int | None]) -> tuple[dict, dict]:
    """Set the project's own limits (None: follow the default), refusing one below what is in use. Returns the
    effective limits of what changed, before and after (empty if nothing did), for the audit row."""
    row = quotas.quota_row(project, region, lock=True)
    before = quotas.limits(project, region, row)
    changes = {resource: value for resource, value in changes.items() if getattr(row, resource) != value}
    if not changes:
        return {}, {}
    for resource, value in changes.items():
        setattr(row, resource, value)
    after = quotas.limits(project, region, row)
    used = quotas.usage(project, region)
    for resource in changes:
        limit = after[resource]
        if limit != UNLIMITED and limit < used.get(resource, 0):
            raise ActionError(
                _("%(resource)s: %(used)s are in use in %(region)s, so the limit cannot be lower than that.")
                % {"resource": Resource(resource).label, "used": used[resource], "region": region.name}
            )
    row.save()
    return (
        {key: value for key, value in before.items() if key in changes},
        {key: value for key, value in after.items() if key in changes},
    )


@transaction.atomic
def set_project_quota(*, actor: Actor, project: Project, region: Region, limits: Mapping[str, Any]) -> ProjectQuota:
    """An operator sets a project's own limits in a region (a blank one follows the region's default)."""
    ensure_operator(actor)
    changes = {_resource(key).value: _limit_value(key, value, blank=True) for key, value in limits.items()}
    before, after = _apply(project, region, changes)
    if before or after:
        record(
            actor,
            "quota.update",
            project=project,
            target=quotas.quota_row(project, region),
            before={"region": region.slug, **before},
            after={"region": region.slug, **after},
        )
        _push(project, region)
    return quotas.quota_row(project, region)


@transaction.atomic
def set_region_quota_defaults(*, actor: Actor, region: Region, limits: Mapping[str, Any]) -> RegionQuotaDefaults:
    """An operator sets a region's default limits; projects without their own get them (pushed to every cloud
    project in the region)."""
    ensure_operator(actor)
    defaults = RegionQuotaDefaults.objects.select_for_update().get(pk=quotas.region_defaults(region).pk)
    before, after = {}, {}
    for key, value in limits.items():
        resource = _resource(key).value
        number = _limit_value(resource, value, blank=False)
        if getattr(defaults, resource) != number:
            before[resource], after[resource] = getattr(defaults, resource), number
            setattr(defaults, resource, number)
    if after:
        defaults.save()
        record(actor, "quota.defaults", target=region, before=before, after=after)
        from infra import tasks

        pk = str(region.pk)
        transaction.on_commit(lambda: tasks.push_region_quotas.delay(pk), robust=True)
    return defaults


# --- requests ------------------------------------------------------------------------------------------------------


@transaction.atomic
def request_quota(
    *, actor: Actor, project: Project, region: Region, resource: str, requested_limit: Any, reason: str
) -> QuotaRequest:
    """A member asks for a higher limit of one resource in one region (one pending request per resource)."""
    authorize(actor, project.organization, minimum=Role.MEMBER, operation=Operation.CREATE)
    resource = _resource(resource).value
    if not CloudProject.objects.live().filter(project=project, region=region).exists():
        raise ActionError(
            _("%(project)s does not use %(region)s yet.") % {"project": project.name, "region": region.name}
        )
    wanted = _limit_value(resource, requested_limit, blank=False)
    current = quotas.limits(project, region)[resource]
    if current == UNLIMITED:
        raise ActionError(_("%(resource)s is already unlimited.") % {"resource": Resource(resource).label})
    if wanted != UNLIMITED and wanted <= current:
        raise ActionError(
            _("Ask for more than the current limit (%(limit)s).") % {"limit": current},
        )
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise ActionError(_("Say in a sentence why you need it (at least %(min)s characters).") % {"min": REASON_MIN})
    if len(reason) > REASON_MAX:
        raise ActionError(_("The reason is limited to %(max)s characters.") % {"max": REASON_MAX})
    try:
        with transaction.atomic():
            request = QuotaRequest.objects.create(
                project=project,
                region=region,
                resource=resource,
                current_limit=current,
                requested_limit=wanted,
                reason=reason,
                requested_by=actor.user,
            )
    except IntegrityError:
        raise Conflict(
            _("A request for %(resource)s in %(region)s is already waiting for a decision.")
            % {"resource": Resource(resource).label, "region": region.name}
        ) from None
    record(
        actor,
        "quota_request.create",
        project=project,
        target=request,
        after={"region": region.slug, "resource": resource, "current_limit": current, "requested_limit": wanted},
    )
    _tell_operators(request)
    return request


def _tell_operators(request: QuotaRequest) -> None:
    """Every operator sees a new request in the console (the bell); the queue is where they decide. No e-mail: a
    team of operators would get one each for every request."""
    url = reverse("operator_quota_request", kwargs={"request_id": request.pk})
    for operator in User.objects.operators().exclude(pk=request.requested_by_id):
        notify(
            operator,
            kind="quota_request.created",
            subject_template="infra/email/quota_request_created_subject.txt",
            body_template="infra/email/quota_request_created_message.txt",
            context={"request": request, "project": request.project, "organization": request.project.organization},
            url=url,
            email=False,
        )


def _pending(request: QuotaRequest) -> QuotaRequest:
    row = (
        QuotaRequest.objects.select_for_update(of=("self",))
        .select_related("project__organization", "region", "requested_by")
        .filter(pk=request.pk)
        .first()
    )
    if row is None:
        raise NotFound()
    if row.status != QuotaRequest.Status.PENDING:
        raise Conflict(_("This request was already %(status)s.") % {"status": row.get_status_display().lower()})
    return row


@transaction.atomic
def cancel_quota_request(*, actor: Actor, request: QuotaRequest) -> QuotaRequest:
    """The requester (or an admin of the organisation) withdraws a pending request."""
    membership = authorize(actor, request.project.organization, minimum=Role.MEMBER, operation=Operation.DELETE)
    request = _pending(request)
    if request.requested_by_id != actor.user.pk and not membership.can(Role.ADMIN):
        raise NotAllowed(_("Only who asked, or an admin, can withdraw a request."))
    request.status = QuotaRequest.Status.CANCELLED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    record(actor, "quota_request.cancel", project=request.project, target=request, after={"status": request.status})
    return request


@transaction.atomic
def approve_quota_request(*, actor: Actor, request: QuotaRequest, note: str = "") -> QuotaRequest:
    """An operator approves: the project's limit becomes the requested one, pushed to the cloud; the requester is
    told."""
    ensure_operator(actor)
    request = _pending(request)
    before, after = _apply(request.project, request.region, {request.resource: request.requested_limit})
    _decide(request, actor, QuotaRequest.Status.APPROVED, note)
    record(
        actor,
        "quota_request.approve",
        project=request.project,
        target=request,
        before={"region": request.region.slug, **before},
        after={"region": request.region.slug, **after, **({"reason": note} if note else {})},
    )
    _push(request.project, request.region)
    _tell_requester(request)
    return request


@transaction.atomic
def reject_quota_request(*, actor: Actor, request: QuotaRequest, reason: str) -> QuotaRequest:
    """An operator rejects, saying why; the requester is told."""
    ensure_operator(actor)
    request = _pending(request)
    reason = (reason or "").strip()
    if not reason:
        raise ActionError(_("Say why the request is rejected: the requester will read it."))
    if len(reason) > REASON_MAX:
        raise ActionError(_("The reason is limited to %(max)s characters.") % {"max": REASON_MAX})
    _decide(request, actor, QuotaRequest.Status.REJECTED, reason)
    record(
        actor,
        "quota_request.reject",
        project=request.project,
        target=request,
        after={"status": request.status, "reason": reason},
    )
    _tell_requester(request)
    return request


def _decide(request: QuotaRequest, actor: Actor, status: str, reason: str) -> None:
    request.status = status
    request.decided_by = actor.user
    request.decided_at = timezone.now()
    request.decision_reason = reason
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])


def _tell_requester(request: QuotaRequest) -> None:
    if request.requested_by is None:
        return
    project = request.project
    notify(
        request.requested_by,
        kind=f"quota_request.{request.status}",
        subject_template=f"infra/email/quota_request_{request.status}_subject.txt",
        body_template=f"infra/email/quota_request_{request.status}_message.txt",
        context={"request": request, "project": project, "organization": project.organization},
        organization=project.organization,
        project=project,
        url=reverse("quotas", kwargs={"org_slug": project.organization.slug, "project_slug": project.slug}),
    )
