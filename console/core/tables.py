"""List building blocks: tables (django-tables2) and their filter bars (django-filter), in the console's style.

A list view builds its table from the request and renders it with `{% render_table table %}`:

    filters = MyFilterSet(request.GET, queryset=rows.select_related(...).annotate(...))
    table = build_table(request, MyTable, filters.qs, filters=filters)
    return render(request, "…", {"table": table})

`console/_table.html` draws a card table with the filter bar in its header (`console/_filters.html`: a FilterSet's
form with the fields of every other console form), sortable headers (`aria-sort`), page numbers, the total count
and an empty state.
Sorting and pagination happen in SQL, so a page costs the same number of queries whatever its size: annotate counts
and `select_related` what the columns show, never read relations row by row.
"""

from __future__ import annotations

from typing import Any, TypeVar

import django_filters
import django_tables2 as tables
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_tables2.paginators import LazyPaginator
from django_tables2.tables import DeclarativeColumnsMetaclass

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
PER_PAGE_CHOICES = (25, 50, 100)

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "FilterSet",
    "LazyPaginator",
    "Table",
    "build_table",
    "per_page_from",
]


class _InheritedMeta(DeclarativeColumnsMetaclass):
    """django-tables2 reads only a class's own `Meta`: a subclass without one inherits its parent's here."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> type:
        if "Meta" not in attrs:
            parent = next((base.Meta for base in bases if hasattr(base, "Meta")), None)
            if parent is not None:
                attrs["Meta"] = type("Meta", (parent,), {})
        return super().__new__(mcs, name, bases, attrs)


class Table(tables.Table, metaclass=_InheritedMeta):
    """Base of every console table: Tabler's card table, our template, and an empty state that says why.

    Subclasses may set `empty_icon`, `empty_title` and `empty_description` (shown when there are no rows at all),
    and `filtered_empty_description` (shown when filters or a search hide every row).
    """

    # tools/build_icons.py finds icons in templates only: name one that a template also uses (or add it there).
    empty_icon = "list-details"
    empty_title: str | Promise = _("Nothing here yet")
    empty_description: str | Promise = ""
    filtered_empty_title: str | Promise = _("No results")
    filtered_empty_description: str | Promise = _("Nothing matches these filters. Change or clear them to see more.")

    class Meta:
        template_name = "console/_table.html"
        attrs = {"class": "table table-vcenter card-table"}
        per_page = DEFAULT_PER_PAGE
        order_by_field = "sort"
        page_field = "page"
        per_page_field = "per_page"

    def __init__(
        self, *args: Any, filters: FilterSet | None = None, caption: str | Promise = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.filters = filters
        self.caption = caption

    @property
    def filtered(self) -> bool:
        return bool(self.filters is not None and self.filters.is_active)

    @property
    def empty_state(self) -> dict[str, Any]:
        if self.filtered:
            return {"icon": None, "title": self.filtered_empty_title, "text": self.filtered_empty_description}
        return {"icon": self.empty_icon, "title": self.empty_title, "text": self.empty_description}

    @property
    def is_lazy(self) -> bool:
        """Paginated without counting the rows (large, growing tables): no total, no last page."""
        return isinstance(getattr(self, "paginator", None), LazyPaginator)

    @property
    def shown_range(self) -> tuple[int, int]:
        """The 1-based numbers of the first and last rows on this page (computed without counting all rows)."""
        page = getattr(self, "page", None)
        if page is None or not len(page.object_list):
            return (0, 0)
        start = (page.number - 1) * self.paginator.per_page + 1
        return (start, start + len(page.object_list) - 1)

    @property
    def per_page_choices(self) -> tuple[int, ...]:
        return PER_PAGE_CHOICES

    @property
    def kept_for_filters(self) -> list[tuple[str, str]]:
        """Query parameters a filter form keeps when submitted: the sort and the page size (not the page)."""
        request = getattr(self, "request", None)
        if request is None:
            return []
        keep = (self.prefixed_order_by_field, self.prefixed_per_page_field)
        return [(name, value) for name in keep for value in request.GET.getlist(name)]


TableT = TypeVar("TableT", bound=tables.Table)


def per_page_from(request: HttpRequest, field: str = "per_page", default: int = DEFAULT_PER_PAGE) -> int:
    """The page size the request asks for, between 1 and MAX_PER_PAGE (the default when absent or not a number)."""
    try:
        value = int(request.GET.get(field, default))
    except (TypeError, ValueError):
        return default
    return max(1, min(value, MAX_PER_PAGE))


def build_table(
    request: HttpRequest,
    table_class: type[TableT],
    data: Any,
    *,
    per_page: int = DEFAULT_PER_PAGE,
    paginator_class: type[Paginator] = Paginator,
    **kwargs: Any,
) -> TableT:
    """A table of `data` sorted and paginated as the request's query string says (`sort`, `page`, `per_page`).

    Unknown sort columns are ignored; a page past the end shows the last page; `per_page` is capped at
    MAX_PER_PAGE. Pass `paginator_class=LazyPaginator` for tables too large to count.
    """
    table = table_class(data, **kwargs)  # not `request=`: tables2 would then paginate (and count) by itself too
    table.request = request
    order_by = request.GET.getlist(table.prefixed_order_by_field)
    if order_by:
        table.order_by = order_by
    size = per_page_from(request, table.prefixed_per_page_field, per_page)
    try:
        table.paginate(paginator_class, per_page=size, page=request.GET.get(table.prefixed_page_field) or 1)
    except PageNotAnInteger:
        table.page = table.paginator.page(1)
    except EmptyPage:
        table.page = table.paginator.page(max(1, table.paginator.num_pages))
    return table


class FilterSet(django_filters.FilterSet):
    """Base of every list's filters: a GET form shown by `console/_filters.html` with our field style."""

    @property
    def is_active(self) -> bool:
        """Whether any filter is set (the table then says "no results" rather than "nothing here yet")."""
        if not self.is_bound:
            return False
        return any(self.data.get(name) not in (None, "") for name in self.filters)
