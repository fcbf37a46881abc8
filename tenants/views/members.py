"""Members and invitations of an organisation, and accepting an invitation."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from allauth.account.adapter import get_adapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenants import actions
from tenants.audit import Actor
from tenants.forms import InvitationForm, RoleForm
from tenants.models import Invitation, Membership, Role
from tenants.policy import ROLE_DESCRIPTIONS, ActionError
from tenants.scope import OrganizationScope, organization_view
from tenants.views.base import actor_for, base_url, refuse


def _members_url(scope: OrganizationScope) -> str:
    return reverse("members", kwargs={"org_slug": scope.organization.slug})


@organization_view
def members(request: HttpRequest, scope: OrganizationScope) -> HttpResponse:
    """The member list (everyone), the invitation form and open invitations (owners)."""
    organization = scope.organization
    if request.method == "POST" and not scope.can(Role.OWNER):
        raise PermissionDenied(_("Only an owner can invite people."))
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = actions.invite_member(
                actor=actor_for(request),
                organization=organization,
                email=form.cleaned_data["email"],
                role=Role(form.cleaned_data["role"]),
                base_url=base_url(request),
            )
        except ActionError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            return redirect(_members_url(scope))
    has_mfa = Authenticator.objects.filter(user=OuterRef("user"), type=Authenticator.Type.TOTP)
    member_rows = list(
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .annotate(has_mfa=Exists(has_mfa))
        .order_by("user__email")
    )
    is_owner = scope.can(Role.OWNER)
    invitations = (
        list(
            Invitation.objects.filter(
                organization=organization, accepted_at__isnull=True, revoked_at__isnull=True
            ).select_related("invited_by")
        )
        if is_owner
        else []
    )
    context = {
        "scope": scope,
        "organization": organization,
        "members": member_rows,
        "own_membership": scope.membership,
        "owner_count": sum(1 for m in member_rows if m.role == Role.OWNER),
        "invitations": invitations,
        "form": form,
        "is_owner": is_owner,
        "roles": [(role.value, role.label, ROLE_DESCRIPTIONS[role]) for role in reversed(Role)],
        "invitation_days": settings.INVITATION_DAYS,
    }
    return render(request, "tenants/members/list.html", context, status=400 if request.method == "POST" else 200)


def _member_action(
    request: HttpRequest, scope: OrganizationScope, run: Callable[[Actor], object], success: str
) -> HttpResponse:
    try:
        run(actor_for(request))
    except ActionError as error:
        refuse(request, error)
    else:
        messages.success(request, success)
    return redirect(_members_url(scope))


@require_POST
@organization_view
def member_role(request: HttpRequest, scope: OrganizationScope, membership_id: int) -> HttpResponse:
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
        return redirect(_members_url(scope))
    role = Role(form.cleaned_data["role"])
    return _member_action(
        request,
        scope,
        lambda actor: actions.change_role(
            actor=actor, organization=scope.organization, membership_id=membership_id, role=role
        ),
        _("Role changed to %(role)s.") % {"role": role.label},
    )


@require_POST
@organization_view
def member_remove(request: HttpRequest, scope: OrganizationScope, membership_id: int) -> HttpResponse:
    return _member_action(
        request,
        scope,
        lambda actor: actions.remove_member(actor=actor, organization=scope.organization, membership_id=membership_id),
        _("Member removed."),
    )


@require_POST
@organization_view
def member_transfer(request: HttpRequest, scope: OrganizationScope, membership_id: int) -> HttpResponse:
    return _member_action(
        request,
        scope,
        lambda actor: actions.transfer_ownership(
            actor=actor, organization=scope.organization, membership_id=membership_id
        ),
        _("Ownership transferred. You are now an admin."),
    )


@require_POST
@organization_view
def organization_leave(request: HttpRequest, scope: OrganizationScope) -> HttpResponse:
    if scope.membership is None:
        return redirect("dashboard")
    try:
        actions.remove_member(
            actor=actor_for(request), organization=scope.organization, membership_id=scope.membership.pk
        )
    except ActionError as error:
        refuse(request, error)
        return redirect(_members_url(scope))
    messages.success(request, _("You left %(org)s.") % {"org": scope.organization.name})
    return redirect("dashboard")


@require_POST
@organization_view
def invitation_resend(request: HttpRequest, scope: OrganizationScope, invitation_id: uuid.UUID) -> HttpResponse:
    return _member_action(
        request,
        scope,
        lambda actor: actions.resend_invitation(
            actor=actor, organization=scope.organization, invitation_id=invitation_id, base_url=base_url(request)
        ),
        _("Invitation sent again with a new link."),
    )


@require_POST
@organization_view
def invitation_revoke(request: HttpRequest, scope: OrganizationScope, invitation_id: uuid.UUID) -> HttpResponse:
    return _member_action(
        request,
        scope,
        lambda actor: actions.revoke_invitation(
            actor=actor, organization=scope.organization, invitation_id=invitation_id
        ),
        _("Invitation revoked: its link no longer works."),
    )


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation e-mail links to. Anyone with the link sees the organisation's name and the role."""
    invitation = actions.invitation_for_token(token)
    error = None
    if request.method == "POST" and request.user.is_authenticated and invitation is not None:
        try:
            membership = actions.accept_invitation(actor=actor_for(request), token=token)
        except ActionError as refusal:
            error = refusal.message
        else:
            messages.success(request, _("Welcome to %(org)s.") % {"org": membership.organization.name})
            return redirect("organization_overview", org_slug=membership.organization.slug)
    next_query = urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
    signup_query = next_query
    if invitation is not None and invitation.status == Invitation.Status.PENDING and not request.user.is_authenticated:
        # The link came by e-mail to this address: signing up with it needs no second verification (allauth's
        # documented hook for invitations), and the form is filled in.
        get_adapter(request).stash_verified_email(request, invitation.email)
        signup_query = urlencode({REDIRECT_FIELD_NAME: request.get_full_path(), "email": invitation.email})
    email_matches = False
    if request.user.is_authenticated and invitation is not None:
        email_matches = request.user.emailaddress_set.filter(email__iexact=invitation.email, verified=True).exists()
    context = {
        "invitation": invitation,
        "status": invitation.status if invitation else None,
        "error": error,
        "email_matches": email_matches,
        "login_url": f"{reverse('account_login')}?{next_query}",
        "signup_url": f"{reverse('account_signup')}?{signup_query}",
        "role_description": ROLE_DESCRIPTIONS[Role(invitation.role)] if invitation else "",
    }
    status = 404 if invitation is None else (400 if error else 200)
    return render(request, "tenants/invitation/accept.html", context, status=status)
