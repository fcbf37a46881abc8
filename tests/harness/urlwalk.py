"""The console's URL patterns, found by walking the resolver, and URLs built from sample argument values.

Tests that must cover every page (tenant isolation, Korean on every page) walk these routes, so a page added later
is covered the day it lands; a route whose argument the test has no value for fails the test (`build`), so coverage
never shrinks in silence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# `<slug:org_slug>` in a route, `(?P<key>…)` in a regular expression.
ARGUMENT = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>|\(\?P<(?P<group>\w+)>")


@dataclass(frozen=True)
class Route:
    name: str  # with its namespace ("api:schema"); an unnamed pattern's route
    route: str  # the pattern as written, prefixes included (e.g. "o/<slug:org_slug>/-/members/")
    arguments: tuple[str, ...]
    module: str  # the view's module, e.g. "allauth.account.views"


def routes() -> list[Route]:
    """Every named URL pattern of the project, in resolver order."""
    found: list[Route] = []

    def walk(patterns: list, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, route, inner)
            elif isinstance(pattern, URLPattern):
                arguments = tuple(m.group("name") or m.group("group") for m in ARGUMENT.finditer(route))
                module = getattr(pattern.callback, "__module__", "")
                name = namespace + pattern.name if pattern.name else route
                found.append(Route(name, route, arguments, module))

    walk(get_resolver().url_patterns, "", "")
    return found


def build(route: Route | str, values: Mapping[str, object]) -> str:
    """The URL of `route` with its arguments taken from `values`; fails the test when one has no value."""
    if isinstance(route, Route) and route.name == route.route:  # an unnamed pattern: no reverse()
        route = route.route.removeprefix("^").removesuffix("$")
    if isinstance(route, str):  # a plain route string (no regular expression)
        return "/" + ARGUMENT.sub(lambda match: str(_value(route, match.group("name"), values)), route)
    kwargs = {name: _value(route.route, name, values) for name in route.arguments}
    return reverse(route.name, kwargs=kwargs)


def _value(route: str, name: str, values: Mapping[str, object]) -> object:
    if name not in values:
        pytest.fail(f"Teach the URL walker the URL argument {name!r} (route {route!r})")
    return values[name]
