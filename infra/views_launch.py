"""Being written (issue 9)."""

from django.http import Http404, HttpRequest, HttpResponse


def launch(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404
