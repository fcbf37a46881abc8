"""Being written (issue 9)."""

from django.http import Http404, HttpRequest, HttpResponse


def server_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def live_detail(scope: object, server: object) -> str | None:
    return None


def live_console_log(scope: object, pk: str) -> str | None:
    return None
