"""What every tenant page does around an action: build the actor, turn a refusal into the right answer."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from tenants.audit import Actor
from tenants.policy import ActionError, NotAllowed, NotFound


def actor_for(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def base_url(request: HttpRequest) -> str:
    """The console's own address as the browser sees it, for links in e-mails."""
    return request.build_absolute_uri("/")


def refuse(request: HttpRequest, error: ActionError) -> None:
    """A refused action: 404 for what the actor may not see, 403 for a role that does not allow it, else a message."""
    if isinstance(error, NotFound):
        raise Http404 from error
    if isinstance(error, NotAllowed):
        raise PermissionDenied(error.message) from error
    messages.error(request, error.message)
