"""API endpoints: thin views that resolve the caller's scope (404 across tenants), call the actions with the
request's actor (the token's role ceiling included), and answer JSON."""

from __future__ import annotations

import uuid
from typing import Any

from allauth.mfa.models import Authenticator
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import actions, notify
from tenants.api import serializers as s
from tenants.api.idempotency import idempotent
from tenants.api.pagination import CursorPagination
from tenants.api.scope import (
    ApiScope,
    api_actor,
    caller_role,
    organization_scope,
    organizations_for,
    project_scope,
    request_token,
)
from tenants.models import ApiToken, AuditEvent, Invitation, Membership, Notification, Organization, Project, Role
from tenants.policy import NotFound

NO_CONTENT = {204: OpenApiResponse(description="Done; no body.")}


def _base_url(request: Request) -> str:
    return request.build_absolute_uri("/")


def _refuse_tokens(request: Request) -> None:
    if request_token(request) is not None:
        raise PermissionDenied(_("API tokens cannot do this; use the console."), code="token_not_allowed")


def _created(data: Any, location: str) -> Response:
    return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})


# Me --------------------------------------------------------------------------------------------------------------


@extend_schema(tags=["me"])
class MeView(APIView):
    @extend_schema(responses=s.MeSerializer, summary="Who am I")
    def get(self, request: Request) -> Response:
        token = request_token(request)
        memberships = Membership.objects.filter(user=request.user).select_related("organization")
        if token is not None:
            memberships = memberships.filter(organization_id=token.organization_id)
        rows = [
            {"organization": m.organization, "role": caller_role(request, m.role).value}
            for m in memberships.order_by("organization__name")
        ]
        return Response(s.MeSerializer({"user": request.user, "organizations": rows, "token": token}).data)


# Organisations ---------------------------------------------------------------------------------------------------


def _org_data(request: Request, scope: ApiScope) -> dict[str, Any]:
    scope.organization.member_role = scope.membership.role
    return s.OrganizationSerializer(scope.organization, context={"request": request}).data


@extend_schema(tags=["organizations"])
class OrganizationListView(generics.ListAPIView):
    serializer_class = s.OrganizationSerializer

    def get_queryset(self) -> QuerySet[Organization]:
        return organizations_for(self.request).order_by("name", "pk")

    @extend_schema(summary="List your organizations")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create an organization (sessions only)",
        request=s.OrganizationCreateSerializer,
        responses={201: s.OrganizationSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        _refuse_tokens(request)
        data = s.OrganizationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = actions.create_organization(actor=api_actor(request), **data.validated_data)
        scope = organization_scope(request, organization.pk)
        return _created(_org_data(request, scope), reverse("api:organization", args=[organization.pk]))


@extend_schema(tags=["organizations"])
class OrganizationDetailView(APIView):
    @extend_schema(summary="An organization", responses=s.OrganizationSerializer)
    def get(self, request: Request, organization_id: uuid.UUID) -> Response:
        return Response(_org_data(request, organization_scope(request, organization_id)))

    @extend_schema(
        summary="Rename an organization (owners)",
        request=s.OrganizationUpdateSerializer,
        responses=s.OrganizationSerializer,
    )
    def patch(self, request: Request, organization_id: uuid.UUID) -> Response:
        scope = organization_scope(request, organization_id)
        data = s.OrganizationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = scope.organization
        actions.update_organization(
            actor=api_actor(request),
            organization=organization,
            name=data.validated_data.get("name", organization.name),
            slug=data.validated_data.get("slug", organization.slug),
        )
        return Response(_org_data(request, organization_scope(request, organization_id)))

    @extend_schema(summary="Delete an organization without projects (owners)", responses=NO_CONTENT)
    def delete(self, request: Request, organization_id: uuid.UUID) -> Response:
        scope = organization_scope(request, organization_id)
        actions.delete_organization(actor=api_actor(request), organization=scope.organization)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Projects --------------------------------------------------------------------------------------------------------


@extend_schema(tags=["projects"])
class ProjectListView(generics.ListAPIView):
    serializer_class = s.ProjectSerializer

    def get_queryset(self) -> QuerySet[Project]:
        scope = organization_scope(self.request, self.kwargs["organization_id"])
        return Project.objects.filter(organization=scope.organization).order_by("name", "pk")

    @extend_schema(summary="List an organization's projects")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a project (owners, admins)",
        request=s.ProjectCreateSerializer,
        responses={201: s.ProjectSerializer},
    )
    @idempotent
    def post(self, request: Request, organization_id: uuid.UUID) -> Response:
        scope = organization_scope(request, organization_id)
        data = s.ProjectCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = actions.create_project(
            actor=api_actor(request), organization=scope.organization, **data.validated_data
        )
        return _created(s.ProjectSerializer(project).data, reverse("api:project", args=[project.pk]))


@extend_schema(tags=["projects"])
class ProjectDetailView(APIView):
    @extend_schema(summary="A project", responses=s.ProjectSerializer)
    def get(self, request: Request, project_id: uuid.UUID) -> Response:
        _scope, project = project_scope(request, project_id)
        return Response(s.ProjectSerializer(project).data)

    @extend_schema(
        summary="Change a project (owners, admins)", request=s.ProjectUpdateSerializer, responses=s.ProjectSerializer
    )
    def patch(self, request: Request, project_id: uuid.UUID) -> Response:
        _scope, project = project_scope(request, project_id)
        data = s.ProjectUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {"name": project.name, "slug": project.slug, "description": project.description}
        values.update(data.validated_data)
        project = actions.update_project(actor=api_actor(request), project=project, **values)
        return Response(s.ProjectSerializer(project).data)

    @extend_schema(summary="Delete an empty project (owners, admins)", responses=NO_CONTENT)
    def delete(self, request: Request, project_id: uuid.UUID) -> Response:
        _scope, project = project_scope(request, project_id)
        actions.delete_project(actor=api_actor(request), project=project)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Members ---------------------------------------------------------------------------------------------------------


def _members(organization: Organization) -> QuerySet[Membership]:
    has_mfa = Authenticator.objects.filter(user=OuterRef("user"), type=Authenticator.Type.TOTP)
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .annotate(has_mfa=Exists(has_mfa))
        .order_by("user__email", "pk")
    )


def _member(organization: Organization, membership_id: int) -> Membership:
    membership = _members(organization).filter(pk=membership_id).first()
    if membership is None:
        raise NotFound()
    return membership


@extend_schema(tags=["members"])
class MemberListView(generics.ListAPIView):
    serializer_class = s.MemberSerializer

    def get_queryset(self) -> QuerySet[Membership]:
        return _members(organization_scope(self.request, self.kwargs["organization_id"]).organization)

    @extend_schema(summary="List an organization's members")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["members"])
class MemberDetailView(APIView):
    @extend_schema(summary="A member", responses=s.MemberSerializer)
    def get(self, request: Request, organization_id: uuid.UUID, membership_id: int) -> Response:
        scope = organization_scope(request, organization_id)
        return Response(s.MemberSerializer(_member(scope.organization, membership_id)).data)

    @extend_schema(
        summary="Change a member's role (owners)", request=s.RoleChangeSerializer, responses=s.MemberSerializer
    )
    def patch(self, request: Request, organization_id: uuid.UUID, membership_id: int) -> Response:
        scope = organization_scope(request, organization_id)
        data = s.RoleChangeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        if "role" in data.validated_data:  # PATCH semantics: a body without it changes nothing
            actions.change_role(
                actor=api_actor(request),
                organization=scope.organization,
                membership_id=membership_id,
                role=Role(data.validated_data["role"]),
            )
        return Response(s.MemberSerializer(_member(scope.organization, membership_id)).data)

    @extend_schema(summary="Remove a member (owners), or yourself (leave)", responses=NO_CONTENT)
    def delete(self, request: Request, organization_id: uuid.UUID, membership_id: int) -> Response:
        scope = organization_scope(request, organization_id)
        actions.remove_member(actor=api_actor(request), organization=scope.organization, membership_id=membership_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["members"])
class MemberTransferView(APIView):
    @extend_schema(
        summary="Make a member the owner; you become an admin (owners)", request=None, responses=s.MemberSerializer
    )
    def post(self, request: Request, organization_id: uuid.UUID, membership_id: int) -> Response:
        scope = organization_scope(request, organization_id)
        actions.transfer_ownership(
            actor=api_actor(request), organization=scope.organization, membership_id=membership_id
        )
        return Response(s.MemberSerializer(_member(scope.organization, membership_id)).data)


@extend_schema(tags=["members"])
class LeaveView(APIView):
    @extend_schema(summary="Leave an organization", request=None, responses=NO_CONTENT)
    def post(self, request: Request, organization_id: uuid.UUID) -> Response:
        scope = organization_scope(request, organization_id)
        actions.remove_member(
            actor=api_actor(request), organization=scope.organization, membership_id=scope.membership.pk
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# Invitations -----------------------------------------------------------------------------------------------------


def _invitations(organization: Organization) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(organization=organization, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-created_at", "pk")
    )


def _invitation(organization: Organization, invitation_id: uuid.UUID) -> Invitation:
    invitation = (
        Invitation.objects.filter(organization=organization, pk=invitation_id).select_related("invited_by").first()
    )
    if invitation is None:
        raise NotFound()
    return invitation


@extend_schema(tags=["invitations"])
class InvitationListView(generics.ListAPIView):
    serializer_class = s.InvitationSerializer

    def get_queryset(self) -> QuerySet[Invitation]:
        scope = organization_scope(self.request, self.kwargs["organization_id"])
        scope.require(Role.OWNER)
        return _invitations(scope.organization)

    @extend_schema(summary="List open invitations (owners)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Invite a person by e-mail (owners)",
        request=s.InvitationCreateSerializer,
        responses={201: s.InvitationSerializer},
    )
    @idempotent
    def post(self, request: Request, organization_id: uuid.UUID) -> Response:
        scope = organization_scope(request, organization_id)
        data = s.InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = actions.invite_member(
            actor=api_actor(request),
            organization=scope.organization,
            email=data.validated_data["email"],
            role=Role(data.validated_data["role"]),
            base_url=_base_url(request),
        )
        location = reverse("api:invitation", args=[scope.organization.pk, invitation.pk])
        return _created(s.InvitationSerializer(invitation).data, location)


@extend_schema(tags=["invitations"])
class InvitationDetailView(APIView):
    @extend_schema(summary="An invitation (owners)", responses=s.InvitationSerializer)
    def get(self, request: Request, organization_id: uuid.UUID, invitation_id: uuid.UUID) -> Response:
        scope = organization_scope(request, organization_id)
        scope.require(Role.OWNER)
        return Response(s.InvitationSerializer(_invitation(scope.organization, invitation_id)).data)


@extend_schema(tags=["invitations"])
class InvitationResendView(APIView):
    @extend_schema(
        summary="Send an invitation again with a new link (owners)", request=None, responses=s.InvitationSerializer
    )
    def post(self, request: Request, organization_id: uuid.UUID, invitation_id: uuid.UUID) -> Response:
        scope = organization_scope(request, organization_id)
        invitation = actions.resend_invitation(
            actor=api_actor(request),
            organization=scope.organization,
            invitation_id=invitation_id,
            base_url=_base_url(request),
        )
        return Response(s.InvitationSerializer(invitation).data)


@extend_schema(tags=["invitations"])
class InvitationRevokeView(APIView):
    @extend_schema(
        summary="Revoke an invitation: its link stops working (owners)", request=None, responses=s.InvitationSerializer
    )
    def post(self, request: Request, organization_id: uuid.UUID, invitation_id: uuid.UUID) -> Response:
        scope = organization_scope(request, organization_id)
        invitation = actions.revoke_invitation(
            actor=api_actor(request), organization=scope.organization, invitation_id=invitation_id
        )
        return Response(s.InvitationSerializer(invitation).data)


# API tokens ------------------------------------------------------------------------------------------------------


def visible_tokens(scope: ApiScope) -> QuerySet[ApiToken]:
    """Owners and admins see every token of the organisation; others their own (the token's ceiling counts)."""
    tokens = ApiToken.objects.filter(organization=scope.organization).select_related("user")
    if not scope.can(Role.ADMIN):
        tokens = tokens.filter(user_id=scope.membership.user_id)
    return tokens.order_by("-created_at", "pk")


@extend_schema(tags=["tokens"])
class TokenListView(generics.ListAPIView):
    serializer_class = s.ApiTokenSerializer

    def get_queryset(self) -> QuerySet[ApiToken]:
        return visible_tokens(organization_scope(self.request, self.kwargs["organization_id"]))

    @extend_schema(summary="List API tokens: yours, or every one of the organization (owners, admins)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create an API token (sessions only; not idempotent: the secret is never stored)",
        request=s.ApiTokenCreateSerializer,
        responses={201: s.ApiTokenCreatedSerializer},
    )
    def post(self, request: Request, organization_id: uuid.UUID) -> Response:
        _refuse_tokens(request)
        scope = organization_scope(request, organization_id)
        data = s.ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = actions.create_api_token(
            actor=api_actor(request),
            organization=scope.organization,
            name=data.validated_data["name"],
            role=Role(data.validated_data["role"]),
            expires_at=data.validated_data["expires_at"],
        )
        token.secret = secret
        response = _created(
            s.ApiTokenCreatedSerializer(token).data, reverse("api:token", args=[scope.organization.pk, token.pk])
        )
        response["Cache-Control"] = "no-store"
        return response


def _token(scope: ApiScope, token_id: uuid.UUID) -> ApiToken:
    token = visible_tokens(scope).filter(pk=token_id).first()
    if token is None:
        raise NotFound()
    return token


@extend_schema(tags=["tokens"])
class TokenDetailView(APIView):
    @extend_schema(summary="An API token (never its secret)", responses=s.ApiTokenSerializer)
    def get(self, request: Request, organization_id: uuid.UUID, token_id: uuid.UUID) -> Response:
        scope = organization_scope(request, organization_id)
        return Response(s.ApiTokenSerializer(_token(scope, token_id)).data)


@extend_schema(tags=["tokens"])
class TokenRevokeView(APIView):
    @extend_schema(summary="Revoke an API token at once", request=None, responses=s.ApiTokenSerializer)
    def post(self, request: Request, organization_id: uuid.UUID, token_id: uuid.UUID) -> Response:
        scope = organization_scope(request, organization_id)
        token = actions.revoke_api_token(actor=api_actor(request), organization=scope.organization, token_id=token_id)
        return Response(s.ApiTokenSerializer(token).data)


# Activity --------------------------------------------------------------------------------------------------------


class ActivityPagination(CursorPagination):
    ordering = ("-at", "-id")


@extend_schema(tags=["activity"])
class ActivityView(generics.ListAPIView):
    serializer_class = s.AuditEventSerializer
    pagination_class = ActivityPagination

    def get_queryset(self) -> QuerySet[AuditEvent]:
        scope = organization_scope(self.request, self.kwargs["organization_id"])
        scope.require(Role.ADMIN)
        return AuditEvent.objects.filter(organization=scope.organization)

    @extend_schema(summary="The organization's activity log, newest first (owners, admins)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# Notifications ---------------------------------------------------------------------------------------------------


def _token_organization(request: Request) -> uuid.UUID | None:
    """An API token sees only its organisation's notifications; a session, all the user's."""
    token = request_token(request)
    return token.organization_id if token is not None else None


def own_notifications(request: Request) -> QuerySet[Notification]:
    rows = Notification.objects.filter(user=request.user)
    organization_id = _token_organization(request)
    if organization_id is not None:
        rows = rows.filter(organization_id=organization_id)
    return rows


class NotificationPagination(CursorPagination):
    ordering = ("-created_at", "-id")


@extend_schema(tags=["notifications"])
class NotificationListView(generics.ListAPIView):
    serializer_class = s.NotificationSerializer
    pagination_class = NotificationPagination

    def get_queryset(self) -> QuerySet[Notification]:
        rows = own_notifications(self.request)
        if self.request.query_params.get("unread", "").lower() in ("true", "1", "yes"):
            rows = rows.unread()
        return rows

    @extend_schema(
        summary="Your notifications, newest first (with a token: its organization's only)",
        parameters=[OpenApiParameter("unread", bool, description="Only the unread ones.")],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["notifications"])
class NotificationReadView(APIView):
    @extend_schema(summary="Mark one of your notifications read", request=None, responses=s.NotificationSerializer)
    def post(self, request: Request, notification_id: uuid.UUID) -> Response:
        notification = notify.mark_read(request.user, notification_id, organization_id=_token_organization(request))
        if notification is None:
            raise NotFound()
        return Response(s.NotificationSerializer(notification).data)


@extend_schema(tags=["notifications"])
class NotificationReadAllView(APIView):
    @extend_schema(
        summary="Mark all your notifications read (with a token: its organization's)",
        request=None,
        responses=s.NotificationsReadSerializer,
    )
    def post(self, request: Request) -> Response:
        count = notify.mark_all_read(request.user, organization_id=_token_organization(request))
        return Response(s.NotificationsReadSerializer({"marked": count}).data)
