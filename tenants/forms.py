"""Forms of the tenant pages. They validate input only; the actions decide and change."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.actions import INVITABLE_ROLES
from tenants.models import Role, validate_not_reserved
from tenants.policy import ROLE_DESCRIPTIONS

SLUG_HELP = _("Lower-case letters, digits and hyphens; used in addresses. Leave empty to derive it from the name.")


def _slug_field(*, required: bool) -> forms.SlugField:
    return forms.SlugField(
        label=_("Address"),
        max_length=50,
        required=required,
        help_text=SLUG_HELP if not required else _("Lower-case letters, digits and hyphens. Old links keep working."),
        validators=[validate_not_reserved],  # the field checks the slug shape itself
    )


class SlugLowerMixin:
    def clean_slug(self) -> str:
        return self.cleaned_data.get("slug", "").lower()


class OrganizationForm(SlugLowerMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Your studio's name, e.g. “Starfall Games”."))
    slug = _slug_field(required=False)

    def __init__(self, *args: object, edit: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if edit:
            self.fields["slug"] = _slug_field(required=True)


class ProjectForm(SlugLowerMixin, forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("A game or an environment, e.g. “Starfall — live”.")
    )
    slug = _slug_field(required=False)
    description = forms.CharField(
        label=_("Description"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: object, edit: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if edit:
            self.fields["slug"] = _slug_field(required=True)


def _role_choices(roles: tuple[Role, ...]) -> list[tuple[str, str]]:
    return [(role.value, f"{role.label} — {ROLE_DESCRIPTIONS[role]}") for role in roles]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role"),
        initial=Role.MEMBER.value,
        error_messages={
            "invalid_choice": _("Invite as viewer, member or admin; make an owner by changing a member's role.")
        },
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(INVITABLE_ROLES)


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"), choices=Role.choices, error_messages={"invalid_choice": _("Choose one of the roles.")}
    )


class ConfirmSlugForm(forms.Form):
    """Type the slug to confirm a deletion."""

    confirm = forms.CharField(label=_("Type the address to confirm"), max_length=60)

    def __init__(self, *args: object, expected: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.expected:
            raise forms.ValidationError(_("Type “%(slug)s” to confirm."), params={"slug": self.expected})
        return value


class MfaPolicyForm(forms.Form):
    require_mfa = forms.BooleanField(
        label=_("Require two-factor authentication of every member"),
        required=False,
        help_text=_("Members without an authenticator app are asked to set one up before they can continue."),
    )
