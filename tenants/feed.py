"""The activity feed of the organisation and project dashboards: who did what to what, and when.

Every member sees it (the full activity log, with IP addresses and before/after values, stays with owners, admins
and visiting operators). Members and viewers do not see the entries that only the activity log's readers may:
invitations sent, resent or withdrawn (they name people who are not members) and operators' visits.

The page renders the latest entries (`recent`); the live channel adds each new one (`item`, rendered by
`console/live/_feed_item.html` in both cases).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from tenants.audit_labels import action_label, action_tone
from tenants.models import AuditEvent
from tenants.scope import OrganizationScope

FEED_SIZE = 8
AUDITORS_ONLY_ACTIONS = frozenset({"invitation.create", "invitation.resend", "invitation.revoke"})
AUDITORS_ONLY_PREFIXES = ("operator.",)

# The icon of an entry: by action, else by its group (the part before the dot). Each is in the icon sprite (the
# template that draws the entry names them, so that tools/build_icons.py keeps them).
ACTION_ICONS = {
    "organization.mfa_policy": "shield-lock",
    "member.role": "user-shield",
    "member.remove": "user-minus",
    "member.leave": "user-minus",
    "member.transfer_ownership": "crown",
    "invitation.accept": "user-plus",
}
GROUP_ICONS = {
    "organization": "building",
    "project": "folder",
    "member": "users",
    "invitation": "mail",
    "operator": "eye",
}
DEFAULT_ICON = "activity"


def visible_to(action: str, scope: OrganizationScope) -> bool:
    """Whether the entry of `action` belongs in this scope's feed."""
    if scope.can_audit:
        return True
    return action not in AUDITORS_ONLY_ACTIONS and not action.startswith(AUDITORS_ONLY_PREFIXES)


def events(scope: OrganizationScope) -> QuerySet[AuditEvent]:
    """The events the scope's feed may show, newest first: the organisation's, or on a project page the project's."""
    rows = AuditEvent.objects.filter(organization=scope.organization)
    project = getattr(scope, "project", None)
    if project is not None:
        rows = rows.filter(project=project)
    if not scope.can_audit:
        query = Q(action__in=AUDITORS_ONLY_ACTIONS)
        for prefix in AUDITORS_ONLY_PREFIXES:
            query |= Q(action__startswith=prefix)
        rows = rows.exclude(query)
    return rows.select_related("actor", "project").order_by("-at", "-id")


@dataclass(frozen=True)
class FeedItem:
    event: AuditEvent
    label: str
    tone: str
    icon: str

    @property
    def actor_name(self) -> str:
        actor = self.event.actor
        return actor.display_name if actor is not None else self.event.actor_email

    @property
    def project_name(self) -> str:
        project = self.event.project
        return project.name if project is not None else ""


def item(event: AuditEvent) -> FeedItem:
    """One entry, labelled in the active language."""
    group = event.action.split(".", 1)[0]
    return FeedItem(
        event=event,
        label=action_label(event.action),
        tone=action_tone(event.action),
        icon=ACTION_ICONS.get(event.action) or GROUP_ICONS.get(group, DEFAULT_ICON),
    )


def recent(scope: OrganizationScope, limit: int = FEED_SIZE) -> list[FeedItem]:
    """The scope's latest entries (one query)."""
    return [item(event) for event in events(scope)[:limit]]


def one(scope: OrganizationScope, pk: int | str) -> FeedItem | None:
    """The entry `pk` if the scope's feed shows it (one query); None for another scope's event or a hidden one."""
    try:
        event = events(scope).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None
    return item(event) if event is not None else None
