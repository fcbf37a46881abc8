"""The audit log's writer and the actor an action runs for. Actions call `record`; nothing else writes rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.http import HttpRequest

from console.core import live
from tenants.models import AuditEvent, Organization, Project, Role, User


@dataclass(frozen=True)
class Actor:
    """Who acts, from where: every action takes one (keyword `actor`)."""

    user: User
    ip: str | None = None
    via: str = "console"
    operator: bool = field(default=False)
    # An API token's role ceiling (`tenants.policy.ensure_role` applies it); None for the console and sessions.
    role_ceiling: Role | None = None

    @classmethod
    def from_request(cls, request: HttpRequest, *, via: str = "console", operator: bool = False) -> Actor:
        """`operator=True` only where the user acts with an operator's powers (back office, read-only visits), so
        an operator who is also a member of an organisation appears there as a member when acting as one."""
        return cls(user=request.user, ip=client_ip(request), via=via, operator=operator and request.user.is_operator)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address (a trusted proxy's X-Forwarded-For is already applied by the settings)."""
    return request.META.get("REMOTE_ADDR") or None


def snapshot(instance: models.Model, fields: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of an instance as JSON-safe values, for `before`/`after`."""
    values = {}
    for name in fields:
        value = getattr(instance, name)
        values[name] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
    return values


def record(
    actor: Actor | None,
    action: str,
    *,
    organization: Organization | None = None,
    project: Project | None = None,
    target: models.Model | None = None,
    target_repr: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row in the caller's transaction (so a rolled-back change leaves no row), and announce it
    on the live channel of its organisation and project once the transaction commits (the activity feeds)."""
    if project is not None and organization is None:
        organization = project.organization
    user = actor.user if actor is not None else None
    event = AuditEvent.objects.create(
        actor=user,
        actor_email=user.email if user is not None else "",
        operator=bool(actor and actor.operator),
        organization=organization,
        project=project,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=(target_repr or (str(target) if target is not None else ""))[:200],
        before=before,
        after=after,
        ip=actor.ip if actor is not None else None,
        via=actor.via if actor is not None else "system",
    )
    if organization is not None:
        live.publish(organization, "activity", event.pk)
    if project is not None:
        live.publish(project, "activity", event.pk)
    return event
