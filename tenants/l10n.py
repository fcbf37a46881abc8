"""In which language and time zone a message to someone is written, when it leaves the request that caused it.

- `recipient_locale(email, fallback=…)` (e-mail to an address, e.g. an invitation): the recipient's own choices when
  they have an account and made them; else those of the person who caused the message (e.g. the inviter); else the
  request's.
- `user_locale(user)` (a notification to a user, rendered in a request or a worker): the user's choices, else the
  console's defaults — never the language of whoever caused it."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone, translation

from tenants.models import User


def chosen_language(user: User | None) -> str | None:
    """The language the user chose in their profile, if any (empty means "follow the browser")."""
    if user is not None and user.language and user.language in dict(settings.LANGUAGES):
        return user.language
    return None


def chosen_time_zone(user: User | None) -> zoneinfo.ZoneInfo | None:
    if user is None or not user.time_zone:
        return None
    try:
        return zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _recipient(email: str) -> User | None:
    return User.objects.filter(email__iexact=email).only("language", "time_zone").first()


@contextmanager
def recipient_locale(email: str, *, fallback: User | None = None) -> Iterator[None]:
    """Render a message to `email` in its recipient's language and time zone (see the module's docstring)."""
    recipient = _recipient(email)
    language = chosen_language(recipient) or chosen_language(fallback) or translation.get_language()
    zone = chosen_time_zone(recipient) or chosen_time_zone(fallback) or timezone.get_current_timezone()
    with translation.override(language or settings.LANGUAGE_CODE), timezone.override(zone):
        yield


@contextmanager
def user_locale(user: User) -> Iterator[None]:
    """Render for `user`: their chosen language and time zone, else the console's defaults (not the request's)."""
    language = chosen_language(user) or settings.LANGUAGE_CODE
    zone = chosen_time_zone(user) or zoneinfo.ZoneInfo(settings.TIME_ZONE)
    with translation.override(language), timezone.override(zone):
        yield
