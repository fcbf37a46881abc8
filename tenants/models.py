"""Who: users, organisations (the tenants), their projects and memberships."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from console.core import live

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


RESERVED_SLUGS = frozenset({"-", "new", "api", "ws", "static", "accounts", "admin"})


def validate_not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(_("“%(slug)s” is reserved; choose another."), params={"slug": value}, code="reserved")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def operators(self) -> models.QuerySet[User]:
        """Active staff users in the operators group (`User.is_operator`)."""
        return self.filter(is_active=True, is_staff=True, groups__name=settings.OPERATORS_GROUP)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an e-mail address. Operators are staff users in the operators group."""

    email = models.EmailField(_("e-mail address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: follow the browser."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, help_text=_("Empty: the console's default time zone.")
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="tenants_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@", 1)[0]

    @property
    def is_operator(self) -> bool:
        if not (self.is_active and self.is_staff):
            return False
        cached = getattr(self, "_is_operator", None)
        if cached is None:
            cached = self.groups.filter(name=settings.OPERATORS_GROUP).exists()
            self._is_operator = cached
        return cached


class TenantQuerySet(models.QuerySet):
    """Base of every tenant-owned model's queryset: `for_user` keeps only rows of the user's organisations.

    A subclass names the path from its model to `Membership` in `membership_path`, e.g.
    `"project__organization__memberships"` for a resource that belongs to a project.
    """

    membership_path: str
    project_field = "project"  # the foreign key to Project, for models that belong to a project

    def for_user(self, user: User | AnonymousUser) -> TenantQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(**{f"{self.membership_path}__user": user})

    def in_project(self, project: Project) -> TenantQuerySet:
        """Rows of one project (the view has already resolved the project for its user)."""
        return self.filter(**{self.project_field: project})


class OrganizationQuerySet(TenantQuerySet):
    membership_path = "memberships"


class Organization(models.Model):
    """The tenant and the billing account."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=60, unique=True, validators=[validate_not_reserved])
    require_mfa = models.BooleanField(
        _("require two-factor authentication"),
        default=False,
        help_text=_("Members without an authenticator app are asked to set one up before they can continue."),
    )
    suspended_at = models.DateTimeField(_("suspended"), null=True, blank=True)
    suspension_reason = models.CharField(_("reason for suspension"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def live_group(self) -> str:
        """The live channel's group of this organisation's pages (`console.core.live`)."""
        return live.org_group(self.pk)


class OrganizationSlugRedirect(models.Model):
    """An organisation's former slug: old links keep working after a rename."""

    slug = models.SlugField(max_length=60, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="slug_redirects")

    def __str__(self) -> str:
        return f"{self.slug} → {self.organization.slug}"


class ProjectQuerySet(TenantQuerySet):
    membership_path = "organization__memberships"


class Project(models.Model):
    """The scope of resources inside an organisation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=60, validators=[validate_not_reserved])
    description = models.CharField(_("description"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="tenants_project_slug_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def live_group(self) -> str:
        """The live channel's group of this project's pages (`console.core.live`)."""
        return live.project_group(self.pk)


class ProjectSlugRedirect(models.Model):
    """A project's former slug inside its organisation: old links keep working after a rename."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    slug = models.SlugField(max_length=60)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="slug_redirects")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="tenants_project_slug_redirect_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.slug} → {self.project.slug}"


class Role(models.TextChoices):
    """Roles from least to most: each includes what the ones below it may do."""

    VIEWER = "viewer", _("Viewer")
    MEMBER = "member", _("Member")
    ADMIN = "admin", _("Admin")
    OWNER = "owner", _("Owner")

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


class Membership(models.Model):
    """A user's role in an organisation; every member sees all of its projects."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="tenants_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.organization}"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def can(self, minimum: Role) -> bool:
        """Whether this member's role is `minimum` or above."""
        return self.role_enum.at_least(minimum)


class InvitationQuerySet(TenantQuerySet):
    membership_path = "organization__memberships"

    def pending(self) -> InvitationQuerySet:
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An e-mailed offer to join an organisation with a role. Only a hash of the link's token is stored."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("invited by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"))
    send_count = models.PositiveSmallIntegerField(default=1)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "organization",
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="tenants_invitation_open_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization}"

    @property
    def status(self) -> Invitation.Status:
        if self.accepted_at:
            return self.Status.ACCEPTED
        if self.revoked_at:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING


class AuditEventQuerySet(TenantQuerySet):
    membership_path = "organization__memberships"


class AuditEvent(models.Model):
    """One change (or operator visit), written by the action that made it. Append-only: a database trigger
    refuses UPDATE and DELETE. Foreign keys carry no constraint so that rows outlive what they point at."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_email = models.CharField(_("actor"), max_length=254, blank=True)
    operator = models.BooleanField(_("by an operator"), default=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    project = models.ForeignKey(Project, on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+")
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_repr = models.CharField(_("target"), max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    via = models.CharField(_("via"), max_length=16, default="console")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organization", "-at"], name="tenants_audit_org_at")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_email or 'system'} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("Audit events are append-only.")


class ApiTokenQuerySet(TenantQuerySet):
    membership_path = "organization__memberships"

    def visible_to(self, membership: Membership | None) -> ApiTokenQuerySet:
        """Owners and admins see every token of the organisation, other members their own (None: an operator's
        read-only visit sees all). The caller has already limited the queryset to one organisation."""
        if membership is None or membership.can(Role.ADMIN):
            return self
        return self.filter(user_id=membership.user_id)

    def active(self) -> ApiTokenQuerySet:
        """Tokens that may still authenticate (their user's membership is checked on each request)."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A personal API token: one user, one organisation, a role ceiling, an expiry. Only a hash of the secret is
    kept; the secret (`hnl_<prefix>_<random>`) is shown once, when the token is created.

    A request made with it acts with the lower of the user's role in the organisation and the ceiling, so removing
    the member or lowering their role takes effect on their tokens at once.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", pgettext_lazy("api token", "Revoked")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, db_index=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(_("role ceiling"), max_length=10, choices=Role.choices, default=Role.VIEWER)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "user", "-created_at"], name="tenants_apitoken_org_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix})"

    @property
    def display_prefix(self) -> str:
        """What lists show of the secret: enough to recognise it, nothing to use."""
        return f"hnl_{self.prefix}_…"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def status(self) -> ApiToken.Status:
        if self.revoked_at:
            return self.Status.REVOKED
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class IdempotencyRecord(models.Model):
    """The first response to a create sent with an `Idempotency-Key` header, so that a retry replays it.

    Scoped to who asked (`token:<id>` or `user:<id>`), the method and the path; kept 24 hours. A row without a
    status is a request still in progress.
    """

    id = models.BigAutoField(primary_key=True)
    scope = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # the JSON as first sent, so a replay is byte for byte the same
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "method", "path", "key"], name="tenants_idempotency_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}] for {self.scope}"


class NotificationQuerySet(models.QuerySet):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """A message to one user in the console (the bell in the top bar), written in the recipient's language when it
    is made; `tenants.notify` makes it, e-mails it and announces it on the user's live group."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=60)  # e.g. "quota_request.approved"
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="tenants_notification_user"),
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="tenants_notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title
