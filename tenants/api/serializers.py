"""What the API reads and returns. Input serializers validate only; the actions decide and change."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.actions import INVITABLE_ROLES
from tenants.audit_labels import action_label
from tenants.models import (
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    Notification,
    Organization,
    Project,
    Role,
    validate_not_reserved,
)

ROLE_CHOICES = [(role.value, role.label) for role in Role]


def _slug_field(*, required: bool) -> serializers.SlugField:
    return serializers.SlugField(
        max_length=50,
        required=required,
        validators=[validate_not_reserved],  # the field checks the slug shape itself
        help_text=_("Lower-case letters, digits and hyphens; used in addresses."),
    )


# Me --------------------------------------------------------------------------------------------------------------


class MembershipSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="organization.id")
    name = serializers.CharField(source="organization.name")
    slug = serializers.CharField(source="organization.slug")
    role = serializers.ChoiceField(choices=ROLE_CHOICES, help_text=_("Your role, capped by the token's ceiling."))


class TokenSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=ROLE_CHOICES, help_text=_("The token's role ceiling."))
    organization = serializers.UUIDField(source="organization_id")
    expires_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.pk")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    language = serializers.CharField(source="user.language")
    time_zone = serializers.CharField(source="user.time_zone")
    organizations = MembershipSummarySerializer(many=True)
    token = TokenSummarySerializer(allow_null=True, help_text=_("The token of this request; null for a session."))


# Organisations and projects --------------------------------------------------------------------------------------


class OrganizationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text=_("Your role here, capped by the token's ceiling."))
    suspended = serializers.BooleanField(source="is_suspended", read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "role", "require_mfa", "suspended", "suspension_reason", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=ROLE_CHOICES))
    def get_role(self, organization: Organization) -> str:
        roles = self.context.get("roles", {})
        return str(roles.get(organization.pk, getattr(organization, "member_role", "")))


class OrganizationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = _slug_field(required=False)


class OrganizationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    slug = _slug_field(required=False)


class ProjectSerializer(serializers.ModelSerializer):
    organization = serializers.UUIDField(source="organization_id", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "organization", "name", "slug", "description", "created_at"]
        read_only_fields = fields


class ProjectCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = _slug_field(required=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    slug = _slug_field(required=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)


# Members and invitations -----------------------------------------------------------------------------------------


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    two_factor = serializers.BooleanField(source="has_mfa", read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "two_factor", "joined_at"]
        read_only_fields = fields


class RoleChangeSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "invited_by",
            "created_at",
            "sent_at",
            "send_count",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=[(role.value, role.label) for role in INVITABLE_ROLES], default="member")


# API tokens ------------------------------------------------------------------------------------------------------


class ApiTokenSerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(source="display_prefix", read_only=True)
    status = serializers.ChoiceField(choices=ApiToken.Status.choices, read_only=True)
    user = serializers.EmailField(source="user.email", read_only=True)
    role = serializers.ChoiceField(choices=ROLE_CHOICES, read_only=True, help_text=_("The role ceiling."))

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "user",
            "role",
            "status",
            "expires_at",
            "created_at",
            "last_used_at",
            "last_used_ip",
            "revoked_at",
        ]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    secret = serializers.CharField(
        read_only=True, help_text=_("The token itself. It is shown only in this response: store it safely now.")
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(
        choices=ROLE_CHOICES, default="viewer", help_text=_("The role ceiling: at most your own role.")
    )
    expires_in_days = serializers.IntegerField(
        min_value=1, required=False, help_text=_("Days until the token expires (default 90).")
    )
    expires_on = serializers.DateField(required=False, help_text=_("Or the last day the token works."))

    def validate(self, attrs: dict) -> dict:
        if "expires_in_days" in attrs and "expires_on" in attrs:
            raise serializers.ValidationError(_("Give expires_in_days or expires_on, not both."))
        if "expires_on" in attrs:
            end_of_day = datetime.combine(attrs.pop("expires_on") + timedelta(days=1), time.min)
            attrs["expires_at"] = timezone.make_aware(end_of_day)
        else:
            attrs["expires_at"] = timezone.now() + timedelta(days=attrs.pop("expires_in_days", 90))
        return attrs


# Activity --------------------------------------------------------------------------------------------------------


class AuditEventSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()
    actor = serializers.CharField(source="actor_email", read_only=True)
    project = serializers.UUIDField(source="project_id", read_only=True, allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "action",
            "label",
            "actor",
            "operator",
            "project",
            "target_type",
            "target_id",
            "target_repr",
            "before",
            "after",
            "ip",
            "via",
        ]
        read_only_fields = fields

    def get_label(self, event: AuditEvent) -> str:
        return action_label(event.action)


# Notifications ---------------------------------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    organization = serializers.UUIDField(source="organization_id", read_only=True, allow_null=True)
    project = serializers.UUIDField(source="project_id", read_only=True, allow_null=True)
    url = serializers.CharField(read_only=True, help_text=_("Where it leads: a path in the console, or empty."))
    kind = serializers.CharField(read_only=True, help_text=_("What happened, e.g. quota_request.approved."))

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "organization", "project", "created_at", "read_at"]
        read_only_fields = fields


class NotificationsReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(read_only=True, help_text=_("How many notifications were unread."))
