"""The signed-in user's own pages: the profile (name, language, time zone) and the language menu's endpoint.

E-mail addresses, password, two-factor authentication and sessions are allauth's pages; they share the account
sub-navigation (templates/tenants/account/_tabs.html) with the profile.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from tenants.models import User


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA time zone name this system knows, sorted (the tz database does not change while we run)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def language_choices() -> list[tuple[str, str]]:
    return [("", _("Follow the browser")), *settings.LANGUAGES]


def time_zone_choices() -> list[tuple[str, str]]:
    default = _("Console default (%(zone)s)") % {"zone": settings.TIME_ZONE}
    return [("", default), *((name, name.replace("_", " ")) for name in time_zone_names())]


class ProfileForm(forms.ModelForm):
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        required=False,
        choices=language_choices,
        error_messages={"invalid_choice": gettext_lazy("Choose a language from the list.")},
        help_text=gettext_lazy("The console's language after you sign in, whatever the browser asks for."),
    )
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        choices=time_zone_choices,
        error_messages={"invalid_choice": gettext_lazy("Choose a time zone from the list.")},
        help_text=gettext_lazy("Times on every page are shown in this time zone."),
    )

    class Meta:
        model = User
        fields = ["name", "language", "time_zone"]
        labels = {"name": gettext_lazy("Name")}
        help_texts = {"name": gettext_lazy("Shown to the other members of your organizations.")}

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"]
        if name and name not in time_zone_names():
            raise forms.ValidationError(_("Choose a time zone from the list."), code="invalid_choice")
        return name


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """Name, language and time zone of the signed-in user."""
    user = request.user
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        form.save()
        if user.language:
            translation.activate(user.language)
        messages.success(request, _("Your profile has been saved."))
        response = HttpResponseRedirect(reverse("account_profile"))
        if user.language:
            _set_language_cookie(response, user.language)
        return response
    return render(request, "tenants/account/profile.html", {"form": form})


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's `set_language` (cookie and redirect); a signed-in user's choice is also kept on their account."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if (
        request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and translation.check_for_language(language)
        and request.user.language != language
    ):
        request.user.language = language
        request.user.save(update_fields=["language"])
    return response
