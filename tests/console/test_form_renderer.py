"""Forms are drawn by console.core.forms.FormRenderer: selects in Python, byte for byte as Django's templates draw
them (the filter forms of every list hold several), everything else through the templates."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override

from console.core.forms import FormRenderer, draw_select
from tenants.models import Organization

TRICKY = '<b>"Tom & Jerry\'s"</b>'


def both(widget: forms.Widget, name: str, value: object, attrs: dict | None = None) -> tuple[str, str]:
    """What our renderer and Django's templates draw for the same widget."""
    ours = widget.render(name, value, attrs, renderer=FormRenderer())
    djangos = widget.render(name, value, attrs, renderer=DjangoTemplates())
    return ours, djangos


@pytest.mark.parametrize(
    ("widget", "value", "attrs"),
    [
        (forms.Select(choices=[("", "All"), ("ACTIVE", "Running"), ("STOPPED", "Stopped")]), "STOPPED", None),
        (forms.Select(choices=[("", "All"), ("a", "A")]), None, {"class": "form-select", "id": "id_status"}),
        (forms.Select(choices=[(TRICKY, TRICKY), ("x", mark_safe("<em>safe</em>"))]), TRICKY, {"data-x": TRICKY}),
        (forms.Select(choices=[("a", gettext_lazy("Name")), ("b", gettext_lazy("Status"))]), "b", None),
        (
            forms.Select(
                choices=[("Europe", [("fra", "Frankfurt"), ("ams", "Amsterdam")]), ("Asia", [("icn", "Seoul")])]
            ),
            "icn",
            {"required": True, "disabled": False, "aria-invalid": "true"},
        ),
        (forms.SelectMultiple(choices=[("1", "One"), ("2", "Two"), ("3", "Three")]), ["1", "3"], {"class": "f"}),
        (forms.NullBooleanSelect(), True, None),
        (forms.Select(choices=[]), "", None),
    ],
    ids=["selected", "attrs", "escaping", "lazy labels", "optgroups", "multiple", "null boolean", "empty"],
)
def test_a_select_is_drawn_exactly_as_djangos_templates_draw_it(widget, value, attrs):
    ours, djangos = both(widget, "status", value, attrs)
    assert ours == djangos
    assert draw_select(widget.get_context("status", value, attrs)["widget"]) == djangos, "drawn in Python"


def test_a_select_of_models_is_drawn_exactly_as_djangos_templates_draw_it(db, tenant_a, tenant_b):
    field = forms.ModelChoiceField(queryset=Organization.objects.order_by("name"), empty_label="Any")
    ours, djangos = both(field.widget, "organization", tenant_b.organization.pk)
    assert ours == djangos
    assert f'value="{tenant_b.organization.pk}" selected>Studio B</option>' in ours


def test_a_select_is_drawn_in_korean_exactly_as_the_templates_draw_it():
    with override("ko"):
        ours, djangos = both(forms.NullBooleanSelect(), "answer", False)
    assert ours == djangos
    assert "아니요" in ours or "아니오" in ours


def test_labels_the_templates_would_localise_are_left_to_the_templates():
    widget = forms.Select(choices=[(1, 1000), (2, 2.5)])
    assert draw_select(widget.get_context("n", 2, None)["widget"]) is None
    ours, djangos = both(widget, "n", 2)
    assert ours == djangos
    assert 'value="2" selected>2.5</option>' in ours


def test_the_console_draws_its_forms_with_this_renderer():
    assert isinstance(get_default_renderer(), FormRenderer)


def test_other_widgets_still_come_from_the_templates():
    ours, djangos = both(forms.TextInput(), "name", TRICKY, {"class": "form-control"})
    assert ours == djangos
    ours, djangos = both(forms.RadioSelect(choices=[("a", "A"), ("b", "B")]), "pick", "a")
    assert ours == djangos
