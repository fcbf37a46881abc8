"""The user's notifications: the page (all, or unread), opening one (marks it read, then goes where it leads) and
"Mark all as read". Notifications are personal: only their user sees them; anyone else's answers 404."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from console.core.htmx import render_page
from console.core.tables import per_page_from
from tenants import notify
from tenants.models import Notification

UNREAD = "unread"
PARTIAL = "tenants/notifications/_list.html"  # the card an htmx request (tabs, pages) swaps


@require_GET
@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == UNREAD
    rows = Notification.objects.filter(user=request.user)
    if unread_only:
        rows = rows.unread()
    rows = rows.select_related("organization", "project").order_by("-created_at", "-pk")
    page = Paginator(rows, per_page_from(request)).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "notifications": page.object_list,
        "unread_only": unread_only,
        "unread_count": Notification.objects.unread().filter(user=request.user).count(),
    }
    return render_page(request, "tenants/notifications/list.html", context, partials={"notifications": PARTIAL})


@require_GET
@login_required
def notification_open(request: HttpRequest, notification_id: uuid.UUID) -> HttpResponse:
    """Mark it read and go where it leads: only ever a path on this console (else: the notifications page)."""
    notification = notify.mark_read(request.user, notification_id)
    if notification is None:
        raise Http404
    if notification.url and notify.is_local_path(notification.url):
        return HttpResponseRedirect(notification.url)
    return HttpResponseRedirect(f"{reverse('notifications')}#notification-{notification.pk}")


@require_POST
@login_required
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = notify.mark_all_read(request.user)
    if request.headers.get("HX-Request") == "true":
        # The bell's own button: swap both bells in place; on the notifications page, reload it to show the change.
        response = HttpResponse(notify.render_bell(request.user))
        if urlsplit(request.headers.get("HX-Current-URL", "")).path == reverse("notifications"):
            response["HX-Refresh"] = "true"
        return response
    if count:
        messages.success(request, _("All notifications are marked as read."))
    return redirect("notifications")
