"""Which language a message to someone is written in, when it leaves the request that caused it (e-mail)."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from tenants.models import User


def chosen_language(user: User | None) -> str | None:
    """The language the user chose in their profile, if any (empty means "follow the browser")."""
    if user is not None and user.language and user.language in dict(settings.LANGUAGES):
        return user.language
    return None


def mail_language(email: str, *, fallback: User | None = None) -> str:
    """The language of an e-mail to `email`: the recipient's choice when they have an account and made one, else
    `fallback`'s (the person who caused the mail, e.g. the inviter), else the active language (the request's)."""
    recipient = User.objects.filter(email__iexact=email).only("language").first()
    return (
        chosen_language(recipient) or chosen_language(fallback) or translation.get_language() or settings.LANGUAGE_CODE
    )
