"""allauth's account adapter, adjusted for the console's languages (settings: ACCOUNT_ADAPTER).

- Mail (address confirmation, password reset, …) is written in the recipient's language and time zone
  (`tenants.l10n`).
- Signing in switches the rest of that request to the user's chosen language, so the "signed in" message reads in
  it even when the browser asks for another one.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.utils import translation

from tenants.l10n import chosen_language, recipient_locale


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        with recipient_locale(email):
            super().send_mail(template_prefix, email, context)

    def login(self, request: HttpRequest, user: Any) -> None:
        super().login(request, user)
        language = chosen_language(user)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
