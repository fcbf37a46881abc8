"""Who may do what: roles, the suspension rule, and the errors actions raise when a rule says no.

Every action (console or API) asks here before it changes anything, so the rules live in one place:
`authorize(actor, organization, minimum=..., operation=...)` returns the actor's membership or raises.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from tenants.models import Membership, Organization, Role

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from tenants.audit import Actor


class ActionError(Exception):
    """A rule refused the change; nothing was changed. `message` is shown to the person as is."""

    code = "refused"
    status = 400

    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


class NotFound(ActionError):
    """The target does not exist for this actor (another tenant's resource looks exactly like a missing one)."""

    code = "not_found"
    status = 404

    def __init__(self, message: str | Promise | None = None) -> None:
        super().__init__(message or _("Not found."))


class NotAllowed(ActionError):
    code = "permission_denied"
    status = 403


class Suspended(ActionError):
    code = "organization_suspended"
    status = 409


class Conflict(ActionError):
    code = "conflict"
    status = 409


class Operation(StrEnum):
    """What an action does to a resource, for the suspension rule."""

    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    START = "start"
    STOP = "stop"
    RESIZE = "resize"
    DELETE = "delete"


ALLOWED_WHILE_SUSPENDED = frozenset({Operation.READ, Operation.STOP, Operation.DELETE})

ROLE_DESCRIPTIONS = {
    Role.OWNER: _("Everything, including billing, members and deleting the organization."),
    Role.ADMIN: _("All resources and project settings."),
    Role.MEMBER: _("Create and operate resources."),
    Role.VIEWER: _("Read only."),
}


def ensure_not_suspended(organization: Organization, operation: Operation) -> None:
    """The one suspension check: a suspended organisation may read, stop and delete, nothing else."""
    if organization.is_suspended and operation not in ALLOWED_WHILE_SUSPENDED:
        raise Suspended(
            _("%(org)s is suspended: resources can be viewed, stopped and deleted, but not created or changed.")
            % {"org": organization.name}
        )


def ensure_operator(actor: Actor) -> None:
    """Operators' actions (regions, catalog, quotas, suspensions): anyone else is told the target does not exist."""
    if not actor.user.is_operator:
        raise NotFound()


def membership_of(actor: Actor, organization: Organization, *, lock: bool = False) -> Membership:
    """The actor's membership; it carries the actor's role ceiling (an API token's), which `ensure_role` applies."""
    queryset = Membership.objects.filter(user=actor.user, organization=organization)
    if lock:
        queryset = queryset.select_for_update()
    membership = queryset.first()
    if membership is None:
        raise NotFound()
    membership.role_ceiling = actor.role_ceiling
    return membership


def effective_role(role: Role | str, ceiling: Role | str | None) -> Role:
    """The lower of a member's role and a ceiling (an API token's); no ceiling leaves the role as it is."""
    role = Role(role)
    if ceiling is None or Role(ceiling).at_least(role):
        return role
    return Role(ceiling)


def ensure_role(membership: Membership, minimum: Role) -> None:
    ceiling = getattr(membership, "role_ceiling", None)
    if not membership.can(minimum):
        raise NotAllowed(
            _("Your role (%(role)s) does not allow this; it needs %(minimum)s or above.")
            % {"role": membership.get_role_display(), "minimum": minimum.label}
        )
    if not effective_role(membership.role, ceiling).at_least(minimum):
        raise NotAllowed(
            _("This API token is limited to %(role)s; this needs %(minimum)s or above.")
            % {"role": Role(ceiling).label, "minimum": minimum.label}
        )


def authorize(actor: Actor, organization: Organization, *, minimum: Role, operation: Operation) -> Membership:
    """The actor's membership if their role is `minimum` or above and the suspension rule allows `operation`."""
    membership = membership_of(actor, organization)
    ensure_role(membership, minimum)
    ensure_not_suspended(organization, operation)
    return membership
