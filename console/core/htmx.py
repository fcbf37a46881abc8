"""Partial rendering: one view per URL; an htmx request that targets a part of the page gets only that part.

    return render_page(request, "tenants/activity/activity.html", context, partials={"table": TABLE_PARTIAL})

A list's table card has `id="table"` and boosts its own links and filter form (`console/_table.html`), so sorting,
filtering and paging swap the card in place and push the URL; without JavaScript the same links load whole pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

TABLE_PARTIAL = "console/_table_partial.html"


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap, or None for a normal request."""
    if request.headers.get("HX-Request") != "true" or request.headers.get("HX-History-Restore-Request"):
        return None
    return request.headers.get("HX-Target") or None


def render_page(
    request: HttpRequest,
    template_name: str,
    context: Mapping[str, Any],
    *,
    partials: Mapping[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only the partial registered for the element an htmx request targets."""
    target = htmx_target(request)
    if target and partials and target in partials:
        response = render(request, partials[target], context, status=status)
    else:
        response = render(request, template_name, context, status=status)
    response["Vary"] = ", ".join(filter(None, [response.get("Vary"), "HX-Request", "HX-Target"]))
    return response
