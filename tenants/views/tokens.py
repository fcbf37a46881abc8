"""Personal API tokens of an organisation: the list, the create form (the secret is shown once), revoking.

Any member may create tokens for themselves with a role ceiling up to their own role; owners and admins see and
may revoke every token of the organisation, others only their own.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from console.core.forms import SendOnceForm
from tenants import actions
from tenants.models import ApiToken, Role
from tenants.policy import ROLE_DESCRIPTIONS, ActionError, NotAllowed, NotFound
from tenants.scope import OrganizationScope, organization_view
from tenants.views.base import actor_for, refuse

EXPIRY_DAYS = (30, 90, 365)
CUSTOM = "custom"
NEVER = "never"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, str] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ApiTokenForm(SendOnceForm):
    form_kind = "api-token"  # one token per form shown: its secret is never kept

    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What uses it, e.g. “deploy script” or “Terraform”."),
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Role ceiling"),
        help_text=gettext_lazy("The token never does more than this, nor more than your own role."),
    )
    expiry = forms.ChoiceField(label=gettext_lazy("Expires"))
    expires_on = forms.DateField(
        label=gettext_lazy("Last day"), required=False, widget=DateInput(attrs={"data-shown-when": f"expiry={CUSTOM}"})
    )

    def __init__(self, *args: object, max_role: Role, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        roles = [role for role in Role if max_role.at_least(role)]
        self.fields["role"].choices = [(r.value, f"{r.label} — {ROLE_DESCRIPTIONS[r]}") for r in reversed(roles)]
        self.fields["role"].initial = Role.VIEWER.value
        max_days = settings.API_TOKEN_MAX_DAYS
        choices = [
            (str(days), _("%(days)s days") % {"days": days}) for days in EXPIRY_DAYS if not max_days or days <= max_days
        ]
        choices.append((CUSTOM, _("On a date…")))
        if not max_days:
            choices.append((NEVER, _("Never")))
        self.fields["expiry"].choices = choices
        self.fields["expiry"].initial = "90" if any(value == "90" for value, _label in choices) else choices[0][0]

    def clean(self) -> dict:
        data = super().clean()
        expiry = data.get("expiry")
        if expiry == CUSTOM:
            day = data.get("expires_on")
            if day is None:
                self.add_error("expires_on", _("Choose the last day the token works."))
                return data
            if day < timezone.localdate():
                self.add_error("expires_on", _("Choose a day from today on."))
                return data
            data["expires_at"] = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
        elif expiry == NEVER:
            data["expires_at"] = None
        elif expiry:
            data["expires_at"] = timezone.now() + timedelta(days=int(expiry))
        return data


def _tokens_url(scope: OrganizationScope) -> str:
    return reverse("api_tokens", kwargs={"org_slug": scope.organization.slug})


@organization_view
def api_tokens(request: HttpRequest, scope: OrganizationScope) -> HttpResponse:
    organization = scope.organization
    can_create = not scope.operator_visit
    form = ApiTokenForm(request.POST or None, max_role=scope.role)
    created: dict[str, object] | None = None
    if request.method == "POST" and form.is_valid() and not form.first_sending(request):
        form.add_error(
            None,
            _(
                "This form was already sent, and its token is in the list. Its secret was shown once: if you did "
                "not copy it, revoke the token and create another."
            ),
        )
    elif request.method == "POST" and form.is_valid():
        try:
            token, secret = actions.create_api_token(
                actor=actor_for(request),
                organization=organization,
                name=form.cleaned_data["name"],
                role=Role(form.cleaned_data["role"]),
                expires_at=form.cleaned_data["expires_at"],
            )
        except (NotFound, NotAllowed) as error:
            refuse(request, error)
        except ActionError as error:
            form.add_error(None, error.message)
        else:
            created = {"token": token, "secret": secret}
            form = ApiTokenForm(max_role=scope.role)
    tokens = list(
        ApiToken.objects.filter(organization=organization)
        .visible_to(scope.membership)
        .select_related("user", "revoked_by")
        .order_by("-created_at", "pk")
    )
    sees_all = scope.membership is None or scope.can(Role.ADMIN)
    context = {
        "scope": scope,
        "organization": organization,
        "tokens": tokens,
        "active_count": sum(1 for token in tokens if token.is_active),
        "sees_all": sees_all,
        "own_user_id": request.user.pk,
        "form": form,
        "can_create": can_create,
        "created": created,
        "api_base": request.build_absolute_uri("/api/v1/"),
        "docs_url": reverse("api:docs"),
        "max_days": settings.API_TOKEN_MAX_DAYS,
    }
    status = 201 if created else (400 if request.method == "POST" else 200)
    response = render(request, "tenants/tokens/list.html", context, status=status)
    response["Cache-Control"] = "no-store"  # a page that may show a secret is never cached
    return response


@require_POST
@organization_view
def api_token_revoke(request: HttpRequest, scope: OrganizationScope, token_id: uuid.UUID) -> HttpResponse:
    try:
        token = actions.revoke_api_token(actor=actor_for(request), organization=scope.organization, token_id=token_id)
    except ActionError as error:
        refuse(request, error)
    else:
        messages.success(request, _("Token “%(name)s” revoked: it no longer works.") % {"name": token.name})
    return redirect(_tokens_url(scope))
