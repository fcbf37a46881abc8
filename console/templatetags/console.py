"""Template helpers of the console shell."""

import functools

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def icon(name: str, css_class: str = "") -> str:
    """An icon from the console's sprite (a subset of Tabler Icons made by tools/build_icons.py)."""
    return _icon(name, css_class, settings.STATIC_URL)


@functools.lru_cache(maxsize=2048)
def _icon(name: str, css_class: str, _static_url: str) -> str:
    # Drawn once per (icon, class) and process: a list draws the same few icons on every row, and resolving the
    # sprite's hashed static name each time was a measurable part of a page. Keyed by STATIC_URL too, for tests
    # that change it.
    classes = f"icon {css_class}".strip()
    return format_html(
        '<svg class="{}" aria-hidden="true" focusable="false"><use href="{}#tabler-{}"></use></svg>',
        classes,
        static("console/icons.svg"),
        name,
    )


@register.filter
def as_control(bound_field):  # type: ignore[no-untyped-def]
    """Render a form field's widget with the CSS framework's class and its error state."""
    widget = bound_field.field.widget
    input_type = getattr(widget, "input_type", "")
    if input_type in {"checkbox", "radio"}:
        css = "form-check-input"
    elif widget.__class__.__name__ in {"Select", "SelectMultiple"}:
        css = "form-select"
    else:
        css = "form-control"
    if bound_field.errors:
        css += " is-invalid"
    attrs = {"class": css}
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = f"{bound_field.auto_id}_errors"
    return bound_field.as_widget(attrs=attrs)
