"""The only code that changes organisations, projects, memberships and invitations.

Console views and the API call these functions; each checks the rules (`tenants.policy`), changes rows in one
transaction, appends an audit row, and sends what must leave the process (mail) after commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from console.core import live
from tenants.audit import Actor, record, snapshot
from tenants.l10n import recipient_locale
from tenants.models import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    OrganizationSlugRedirect,
    Project,
    ProjectSlugRedirect,
    Role,
    User,
)
from tenants.policy import (
    ActionError,
    Conflict,
    NotAllowed,
    NotFound,
    Operation,
    authorize,
    ensure_not_suspended,
    ensure_operator,
    ensure_role,
    membership_of,
)
from tenants.resources import remaining_resources

ORG_FIELDS = ("name", "slug")
PROJECT_FIELDS = ("name", "slug", "description")
INVITABLE_ROLES = (Role.VIEWER, Role.MEMBER, Role.ADMIN)
RESEND_INTERVAL = timedelta(minutes=1)  # an invitation is e-mailed at most once a minute


# Organisations ----------------------------------------------------------------------------------------------------


def unique_slug(name: str, taken: set[str] | None = None, *, model: type = Organization, **scope: object) -> str:
    """A slug from `name` that no row of `model` (within `scope`) uses yet: `studio`, `studio-2`, …"""
    base = slugify(name)[:50] or "org"
    existing = set(model.objects.filter(slug__startswith=base, **scope).values_list("slug", flat=True))
    existing |= taken or set()
    candidate, number = base, 2
    while candidate in existing:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


@transaction.atomic
def create_organization(*, actor: Actor, name: str, slug: str = "") -> Organization:
    """A new organisation with the actor as its owner."""
    slug = slug.lower() or unique_slug(name)  # addresses are lower-case, whoever asks (console or API)
    if Organization.objects.filter(slug=slug).exists() or OrganizationSlugRedirect.objects.filter(slug=slug).exists():
        raise Conflict(_("The address “%(slug)s” is taken; choose another.") % {"slug": slug})
    organization = Organization.objects.create(name=name, slug=slug)
    Membership.objects.create(user=actor.user, organization=organization, role=Role.OWNER)
    record(
        actor,
        "organization.create",
        organization=organization,
        target=organization,
        after=snapshot(organization, ORG_FIELDS),
    )
    return organization


@transaction.atomic
def update_organization(*, actor: Actor, organization: Organization, name: str, slug: str) -> Organization:
    """Rename; a changed slug leaves a redirect behind so that old links keep working."""
    authorize(actor, organization, minimum=Role.OWNER, operation=Operation.UPDATE)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    before = snapshot(organization, ORG_FIELDS)
    slug = slug.lower()
    if slug != organization.slug:
        if Organization.objects.filter(slug=slug).exists() or (
            OrganizationSlugRedirect.objects.filter(slug=slug).exclude(organization=organization).exists()
        ):
            raise Conflict(_("The address “%(slug)s” is taken; choose another.") % {"slug": slug})
        OrganizationSlugRedirect.objects.filter(slug=slug).delete()
        OrganizationSlugRedirect.objects.create(slug=organization.slug, organization=organization)
    organization.name, organization.slug = name, slug
    organization.save(update_fields=["name", "slug"])
    after = snapshot(organization, ORG_FIELDS)
    if after != before:
        record(actor, "organization.update", organization=organization, target=organization, before=before, after=after)
    return organization


@transaction.atomic
def set_mfa_policy(*, actor: Actor, organization: Organization, required: bool) -> Organization:
    """Require (or stop requiring) two-factor authentication of every member. Only an owner who uses it may."""
    from allauth.mfa.models import Authenticator

    authorize(actor, organization, minimum=Role.OWNER, operation=Operation.UPDATE)
    if required and not Authenticator.objects.filter(user=actor.user, type=Authenticator.Type.TOTP).exists():
        raise Conflict(_("Set up two-factor authentication for your own account first."))
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.require_mfa != required:
        record(
            actor,
            "organization.mfa_policy",
            organization=organization,
            target=organization,
            before={"require_mfa": organization.require_mfa},
            after={"require_mfa": required},
        )
        organization.require_mfa = required
        organization.save(update_fields=["require_mfa"])
    return organization


@transaction.atomic
def delete_organization(*, actor: Actor, organization: Organization) -> None:
    """Delete an organisation that has no projects left (say which remain otherwise)."""
    authorize(actor, organization, minimum=Role.OWNER, operation=Operation.DELETE)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    projects = list(organization.projects.values_list("name", flat=True))
    if projects:
        raise Conflict(_("Delete its projects first: %(projects)s.") % {"projects": ", ".join(projects)})
    record(
        actor,
        "organization.delete",
        organization=organization,
        target=organization,
        before=snapshot(organization, ORG_FIELDS),
    )
    organization.invitations.all().delete()
    organization.memberships.all().delete()
    organization.delete()


# Projects ---------------------------------------------------------------------------------------------------------


def _project_slug_taken(organization: Organization, slug: str, *, exclude: Project | None = None) -> bool:
    projects = Project.objects.filter(organization=organization, slug=slug)
    redirects = ProjectSlugRedirect.objects.filter(organization=organization, slug=slug)
    if exclude is not None:
        projects, redirects = projects.exclude(pk=exclude.pk), redirects.exclude(project=exclude)
    return projects.exists() or redirects.exists()


@transaction.atomic
def create_project(
    *, actor: Actor, organization: Organization, name: str, slug: str = "", description: str = ""
) -> Project:
    authorize(actor, organization, minimum=Role.ADMIN, operation=Operation.CREATE)
    slug = slug.lower() or unique_slug(name, model=Project, organization=organization)
    if _project_slug_taken(organization, slug):
        raise Conflict(_("This organization already has a project at “%(slug)s”.") % {"slug": slug})
    project = Project.objects.create(organization=organization, name=name, slug=slug, description=description)
    record(actor, "project.create", project=project, target=project, after=snapshot(project, PROJECT_FIELDS))
    live.publish(organization, "project", project.pk)
    return project


@transaction.atomic
def update_project(*, actor: Actor, project: Project, name: str, slug: str, description: str) -> Project:
    authorize(actor, project.organization, minimum=Role.ADMIN, operation=Operation.UPDATE)
    project = Project.objects.select_for_update().select_related("organization").get(pk=project.pk)
    before = snapshot(project, PROJECT_FIELDS)
    slug = slug.lower()
    if slug != project.slug:
        if _project_slug_taken(project.organization, slug, exclude=project):
            raise Conflict(_("This organization already has a project at “%(slug)s”.") % {"slug": slug})
        ProjectSlugRedirect.objects.filter(organization=project.organization, slug=slug).delete()
        ProjectSlugRedirect.objects.create(organization=project.organization, slug=project.slug, project=project)
    project.name, project.slug, project.description = name, slug, description
    project.save(update_fields=["name", "slug", "description"])
    after = snapshot(project, PROJECT_FIELDS)
    if after != before:
        record(actor, "project.update", project=project, target=project, before=before, after=after)
        live.publish(project.organization, "project", project.pk)
    return project


@transaction.atomic
def delete_project(*, actor: Actor, project: Project) -> None:
    """Delete a project that holds no resources (say which remain otherwise)."""
    authorize(actor, project.organization, minimum=Role.ADMIN, operation=Operation.DELETE)
    project = Project.objects.select_for_update().select_related("organization").get(pk=project.pk)
    remaining = remaining_resources(project)
    if remaining:
        listed = ", ".join(f"{count} {label}" for label, count in remaining)
        raise Conflict(_("Delete what the project still holds first: %(resources)s.") % {"resources": listed})
    record(actor, "project.delete", project=project, target=project, before=snapshot(project, PROJECT_FIELDS))
    live.publish(project.organization, "project", project.pk)
    project.delete()


# Members ----------------------------------------------------------------------------------------------------------


def _lock_owners(organization: Organization) -> list[Membership]:
    return list(Membership.objects.select_for_update().filter(organization=organization, role=Role.OWNER))


def _ensure_not_last_owner(membership: Membership, message: str) -> None:
    owners = _lock_owners(membership.organization)
    if membership.role == Role.OWNER and len(owners) <= 1:
        raise Conflict(message)


def _member_of(organization: Organization, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .select_related("user", "organization")
        .filter(pk=membership_id, organization=organization)
        .first()
    )
    if membership is None:
        raise NotFound()
    return membership


@transaction.atomic
def change_role(*, actor: Actor, organization: Organization, membership_id: int, role: Role) -> Membership:
    authorize(actor, organization, minimum=Role.OWNER, operation=Operation.UPDATE)
    membership = _member_of(organization, membership_id)
    if membership.role == role:
        return membership
    if role != Role.OWNER:
        _ensure_not_last_owner(membership, _("The organization needs an owner: make someone else owner first."))
    before = {"role": membership.role}
    membership.role = role
    membership.save(update_fields=["role"])
    record(
        actor,
        "member.role",
        organization=organization,
        target=membership,
        target_repr=membership.user.email,
        before=before,
        after={"role": role.value},
    )
    return membership


@transaction.atomic
def remove_member(*, actor: Actor, organization: Organization, membership_id: int) -> None:
    """An owner removes someone, or anyone removes themselves (leaving); the last owner can do neither."""
    own = membership_of(actor, organization)
    membership = _member_of(organization, membership_id)
    leaving = membership.pk == own.pk
    if not leaving:
        ensure_role(own, Role.OWNER)
    ensure_not_suspended(organization, Operation.DELETE)
    _ensure_not_last_owner(
        membership,
        _("The last owner cannot leave: make someone else owner first, or delete the organization.")
        if leaving
        else _("The organization needs an owner: make someone else owner first."),
    )
    record(
        actor,
        "member.leave" if leaving else "member.remove",
        organization=organization,
        target=membership,
        target_repr=membership.user.email,
        before={"role": membership.role},
    )
    membership.delete()
    live.close_user(membership.user_id, organization.pk)


@transaction.atomic
def transfer_ownership(*, actor: Actor, organization: Organization, membership_id: int) -> Membership:
    """Make another member owner and step down to admin."""
    own = membership_of(actor, organization, lock=True)
    ensure_role(own, Role.OWNER)
    ensure_not_suspended(organization, Operation.UPDATE)
    target = _member_of(organization, membership_id)
    if target.pk == own.pk:
        raise Conflict(_("Choose another member to transfer the ownership to."))
    record(
        actor,
        "member.transfer_ownership",
        organization=organization,
        target=target,
        target_repr=target.user.email,
        before={"owner": actor.user.email},
        after={"owner": target.user.email},
    )
    target.role = Role.OWNER
    target.save(update_fields=["role"])
    own.role = Role.ADMIN
    own.save(update_fields=["role"])
    return target


# Invitations ------------------------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, _token_hash(token)


def _send_invitation(invitation: Invitation, token: str, inviter: User, base_url: str) -> None:
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "inviter": inviter,
        "accept_url": base_url.rstrip("/") + reverse("invitation_accept", args=[token]),
        "expires_at": invitation.expires_at,
    }
    with recipient_locale(invitation.email, fallback=inviter):
        subject = render_to_string("tenants/email/invitation_subject.txt", context).strip()
        body = render_to_string("tenants/email/invitation_message.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [invitation.email])


def _expiry() -> timezone.datetime:
    return timezone.now() + timedelta(days=settings.INVITATION_DAYS)


@transaction.atomic
def invite_member(*, actor: Actor, organization: Organization, email: str, role: Role, base_url: str) -> Invitation:
    """E-mail an invitation with an expiring link; the link's token is kept only as a hash."""
    authorize(actor, organization, minimum=Role.OWNER, operation=Operation.CREATE)
    email = User.objects.normalize_email(email).lower()
    if role not in INVITABLE_ROLES:
        raise NotAllowed(_("Invite as viewer, member or admin; make an owner by changing a member's role."))
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise Conflict(_("%(email)s is already a member.") % {"email": email})
    now = timezone.now()
    # An expired open invitation gives way to the new one (the partial unique index allows one open per address).
    Invitation.objects.filter(
        organization=organization,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__lte=now,
    ).update(revoked_at=now)
    token, token_hash = _new_token()
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                organization=organization,
                email=email,
                role=role,
                token_hash=token_hash,
                invited_by=actor.user,
                sent_at=now,
                expires_at=_expiry(),
            )
    except IntegrityError:
        raise Conflict(_("%(email)s already has an open invitation; resend it instead.") % {"email": email}) from None
    record(
        actor,
        "invitation.create",
        organization=organization,
        target=invitation,
        target_repr=email,
        after={"email": email, "role": role.value},
    )
    transaction.on_commit(lambda: _send_invitation(invitation, token, actor.user, base_url))
    return invitation


def _open_invitation(organization: Organization, invitation_id: object) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update()
        .filter(pk=invitation_id, organization=organization, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if invitation is None:
        raise NotFound(_("This invitation is no longer open."))
    return invitation


@transaction.atomic
def resend_invitation(*, actor: Actor, organization: Organization, invitation_id: object, base_url: str) -> Invitation:
    """Send a fresh link (the old one stops working) with a new expiry."""
    authorize(actor, organization, minimum=Role.OWNER, operation=Operation.CREATE)
    invitation = _open_invitation(organization, invitation_id)
    if invitation.sent_at > timezone.now() - RESEND_INTERVAL:
        raise Conflict(_("It was sent less than a minute ago. Wait a moment before sending it again."))
    token, invitation.token_hash = _new_token()
    invitation.sent_at = timezone.now()
    invitation.expires_at = _expiry()
    invitation.send_count += 1
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at", "send_count"])
    record(actor, "invitation.resend", organization=organization, target=invitation, target_repr=invitation.email)
    transaction.on_commit(lambda: _send_invitation(invitation, token, actor.user, base_url))
    return invitation


@transaction.atomic
def revoke_invitation(*, actor: Actor, organization: Organization, invitation_id: object) -> Invitation:
    authorize(actor, organization, minimum=Role.OWNER, operation=Operation.DELETE)
    invitation = _open_invitation(organization, invitation_id)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record(actor, "invitation.revoke", organization=organization, target=invitation, target_repr=invitation.email)
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("organization", "invited_by").filter(token_hash=_token_hash(token)).first()


@transaction.atomic
def accept_invitation(*, actor: Actor, token: str) -> Membership:
    """Join the organisation. The invitation must be open and addressed to one of the actor's verified e-mails."""
    from allauth.account.models import EmailAddress

    invitation = Invitation.objects.select_for_update().filter(token_hash=_token_hash(token)).first()
    if invitation is None:
        raise NotFound(_("This invitation link is not valid. Ask for a new invitation."))
    organization = invitation.organization
    status = invitation.status
    if status == Invitation.Status.ACCEPTED:
        existing = Membership.objects.filter(organization=organization, user=actor.user).first()
        if existing is not None and invitation.accepted_by_id == actor.user.pk:
            return existing
        raise Conflict(_("This invitation has already been used."))
    if status == Invitation.Status.REVOKED:
        raise Conflict(_("This invitation was withdrawn. Ask %(org)s for a new one.") % {"org": organization.name})
    if status == Invitation.Status.EXPIRED:
        raise Conflict(_("This invitation has expired. Ask %(org)s for a new one.") % {"org": organization.name})
    if not EmailAddress.objects.filter(user=actor.user, email__iexact=invitation.email, verified=True).exists():
        raise NotAllowed(
            _("This invitation is for %(email)s. Sign in with that address (verified) to accept it.")
            % {"email": invitation.email}
        )
    ensure_not_suspended(organization, Operation.CREATE)
    membership, _created = Membership.objects.get_or_create(
        user=actor.user, organization=organization, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = actor.user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record(
        actor,
        "invitation.accept",
        organization=organization,
        target=invitation,
        target_repr=invitation.email,
        after={"role": membership.role},
    )
    return membership


# Operators --------------------------------------------------------------------------------------------------------


@transaction.atomic
def suspend_organization(*, actor: Actor, organization: Organization, reason: str) -> Organization:
    """Operators only: the organisation keeps reading, stopping and deleting; creating and starting stop."""
    ensure_operator(actor)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.is_suspended:
        raise Conflict(_("%(org)s is already suspended.") % {"org": organization.name})
    organization.suspended_at = timezone.now()
    organization.suspension_reason = reason
    organization.save(update_fields=["suspended_at", "suspension_reason"])
    record(actor, "organization.suspend", organization=organization, target=organization, after={"reason": reason})
    return organization


@transaction.atomic
def resume_organization(*, actor: Actor, organization: Organization) -> Organization:
    ensure_operator(actor)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if not organization.is_suspended:
        raise Conflict(_("%(org)s is not suspended.") % {"org": organization.name})
    before = {"reason": organization.suspension_reason}
    organization.suspended_at = None
    organization.suspension_reason = ""
    organization.save(update_fields=["suspended_at", "suspension_reason"])
    record(actor, "organization.resume", organization=organization, target=organization, before=before)
    return organization


def record_operator_visit(
    *, actor: Actor, organization: Organization, path: str, project: Project | None = None
) -> None:
    """An operator opened a tenant's page (read-only): one audit row per page view."""
    ensure_operator(actor)
    record(
        actor,
        "operator.visit",
        organization=organization,
        project=project,
        target=organization,
        after={"path": path[:500]},
    )


# API tokens -------------------------------------------------------------------------------------------------------

API_TOKEN_PREFIX = "hnl"  # noqa: S105 (a label, not a secret)


def api_token_hash(secret: str) -> str:
    """The stored form of an API token's secret (SHA-256: the secret is random, so no slow hash is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_api_secret() -> tuple[str, str]:
    """A secret `hnl_<prefix>_<random>` and its prefix (shown in lists to tell tokens apart)."""
    prefix = secrets.token_hex(4)
    return f"{API_TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def api_token_max_expiry() -> timezone.datetime | None:
    """The latest expiry a new token may have (`HANEUL_API_TOKEN_MAX_DAYS`; 0: tokens may never expire)."""
    days = settings.API_TOKEN_MAX_DAYS
    return timezone.now() + timedelta(days=days) if days else None


@transaction.atomic
def create_api_token(
    *, actor: Actor, organization: Organization, name: str, role: Role, expires_at: timezone.datetime | None
) -> tuple[ApiToken, str]:
    """A personal API token of the actor in `organization`; returns it with its secret, which is never stored.

    Any member may create tokens, with a role ceiling up to their own role. Tokens may be created while the
    organisation is suspended: it still reads, stops and deletes, and scripts may need to.
    """
    own = membership_of(actor, organization)
    ensure_role(own, role)
    if actor.role_ceiling is not None:
        raise NotAllowed(_("An API token cannot create API tokens. Sign in to the console to create one."))
    now = timezone.now()
    latest = api_token_max_expiry()
    if expires_at is None and latest is not None:
        raise ActionError(_("Choose when the token expires."))
    if expires_at is not None and expires_at <= now:
        raise ActionError(_("Choose an expiry in the future."))
    if expires_at is not None and latest is not None and expires_at > latest + timedelta(days=1):
        raise ActionError(
            _("A token may last at most %(days)s days.") % {"days": settings.API_TOKEN_MAX_DAYS},
        )
    secret, prefix = _new_api_secret()
    token = ApiToken.objects.create(
        user=actor.user,
        organization=organization,
        name=name,
        prefix=prefix,
        secret_hash=api_token_hash(secret),
        role=role,
        expires_at=expires_at,
    )
    record(
        actor,
        "api_token.create",
        organization=organization,
        target=token,
        target_repr=f"{name} ({token.display_prefix})",
        after={
            "name": name,
            "role": role.value,
            "expires": expires_at.isoformat() if expires_at else None,
            "owner": actor.user.email,
        },
    )
    return token, secret


@transaction.atomic
def revoke_api_token(*, actor: Actor, organization: Organization, token_id: object) -> ApiToken:
    """Revoke a token at once: one's own, or (owners and admins) any token of the organisation."""
    own = membership_of(actor, organization)
    token = (
        ApiToken.objects.select_for_update()
        .select_related("user")
        .filter(pk=token_id, organization=organization)
        .first()
    )
    if token is None:
        raise NotFound()
    if token.user_id != actor.user.pk:
        # Someone else's token: members and viewers must not learn it exists.
        try:
            ensure_role(own, Role.ADMIN)
        except NotAllowed:
            raise NotFound() from None
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = actor.user
    token.save(update_fields=["revoked_at", "revoked_by"])
    record(
        actor,
        "api_token.revoke",
        organization=organization,
        target=token,
        target_repr=f"{token.name} ({token.display_prefix})",
        before={"owner": token.user.email},
    )
    return token
