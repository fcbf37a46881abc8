"""List pagination: page numbers for small lists, cursors (keyset) for big ones; both in SQL, so a page costs the
same number of queries whatever its size."""

from __future__ import annotations

from rest_framework import pagination

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


class PagePagination(pagination.PageNumberPagination):
    """`?page=2&per_page=50`: answers `{"count", "next", "previous", "results"}`. The API's default."""

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "per_page"
    max_page_size = MAX_PAGE_SIZE


class CursorPagination(pagination.CursorPagination):
    """`?cursor=…`: keyset pagination for lists that grow without bound (activity, later servers); answers
    `{"next", "previous", "results"}`. A view sets `ordering` (newest first by default)."""

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "per_page"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-created_at"
