"""`{% notifications_menu %}`: the bell in the top bar of every signed-in page (one query, once per request)."""

from __future__ import annotations

from typing import Any

from django import template

from tenants.notify import BELL_TEMPLATE, Bell

register = template.Library()


@register.inclusion_tag(BELL_TEMPLATE, takes_context=True)
def notifications_menu(context: template.Context, variant: str = "") -> dict[str, Any]:
    """The bell for the request's user (nothing for anonymous visitors); `variant="-mobile"` for small screens."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"bell": None}
    bell = getattr(request, "_haneul_bell", None)
    if bell is None:
        bell = request._haneul_bell = Bell(user)
    return {"bell": bell, "variant": variant, "oob": False, "csrf_token": context.get("csrf_token")}
