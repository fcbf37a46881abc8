"""What an API request may see, and who it acts as.

`organization_scope(request, organization_id)` and `project_scope(request, project_id)` resolve a UUID for the
caller or raise `NotFound` (another tenant's object, or any organisation other than the token's, is a 404, never a
403). The scope carries the caller's effective role: the membership's role, capped by the token's ceiling.
`api_actor(request)` is the `Actor` the actions run as; it carries the same ceiling, so the actions' own role checks
apply it too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.translation import gettext as _

from tenants.audit import Actor, client_ip
from tenants.models import ApiToken, Membership, Organization, Project, Role
from tenants.policy import NotAllowed, NotFound, effective_role


def request_token(request: HttpRequest) -> ApiToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def api_actor(request: HttpRequest) -> Actor:
    """The actor of an API request: with a token, the token's role ceiling."""
    token = request_token(request)
    return Actor(
        user=request.user,
        ip=client_ip(request),
        via="api",
        role_ceiling=token.role_enum if token is not None else None,
    )


def operator_actor(request: HttpRequest) -> Actor:
    """The actor of an operators' endpoint (`OperatorOnly`): acting with an operator's powers."""
    return Actor(user=request.user, ip=client_ip(request), via="api", operator=True)


@dataclass(frozen=True)
class ApiScope:
    organization: Organization
    membership: Membership
    role: Role  # effective: the membership's role, capped by the token's ceiling
    token: ApiToken | None = None

    def can(self, minimum: Role) -> bool:
        return self.role.at_least(minimum)

    def require(self, minimum: Role) -> None:
        """Refuse (403) a read the caller's role does not allow; changes are refused by the actions themselves."""
        if not self.can(minimum):
            raise NotAllowed(
                _("Your role (%(role)s) does not allow this; it needs %(minimum)s or above.")
                % {"role": self.role.label, "minimum": minimum.label}
            )


def _as_uuid(value: object) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound() from None


def organizations_for(request: HttpRequest) -> QuerySet[Organization]:
    """The caller's organisations (a token's: only its own), each annotated with the member's `member_role`."""
    role = Membership.objects.filter(user=request.user, organization=OuterRef("pk")).values("role")[:1]
    queryset = Organization.objects.for_user(request.user).annotate(member_role=Subquery(role))
    token = request_token(request)
    if token is not None:
        queryset = queryset.filter(pk=token.organization_id)
    return queryset


def caller_role(request: HttpRequest, member_role: str) -> Role:
    token = request_token(request)
    return effective_role(member_role, token.role if token is not None else None)


def organization_scope(request: HttpRequest, organization_id: object) -> ApiScope:
    organization_id = _as_uuid(organization_id)
    token = request_token(request)
    if token is not None and token.organization_id != organization_id:
        raise NotFound()
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=request.user, organization_id=organization_id)
        .first()
    )
    if membership is None:
        raise NotFound()
    return ApiScope(
        organization=membership.organization,
        membership=membership,
        role=caller_role(request, membership.role),
        token=token,
    )


def project_scope(request: HttpRequest, project_id: object) -> tuple[ApiScope, Project]:
    project = Project.objects.select_related("organization").filter(pk=_as_uuid(project_id)).first()
    if project is None:
        raise NotFound()
    scope = organization_scope(request, project.organization_id)
    project.organization = scope.organization
    return scope, project
