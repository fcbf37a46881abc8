"""Being written (issue 9)."""

from django.http import Http404, HttpRequest, HttpResponse


def servers(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def servers_bulk(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def live_row(scope: object, server: object) -> str | None:
    return None
