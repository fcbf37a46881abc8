"""Form building blocks every app may use (this module imports no app)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.cache import cache
from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe

FORM_ID_SECONDS = 24 * 3600  # how long a sent form's id is remembered

SELECT_TEMPLATE = "django/forms/widgets/select.html"
OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


class FormRenderer(DjangoTemplates):
    """Django's form renderer (settings.FORM_RENDERER), but a select is drawn in Python, byte for byte as Django's
    templates draw it: a list's filter form holds a few selects of up to 20 options, and including a template per
    option cost about 2 ms a select. Anything else, or a select whose template or labels are not the plain ones,
    goes through the templates."""

    def render(self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
        if template_name == SELECT_TEMPLATE:
            html = draw_select(context["widget"])
            if html is not None:
                return html
        return super().render(template_name, context, request)


def draw_select(widget: dict[str, Any]) -> SafeString | None:
    """`select.html` for a widget's context, or None when it needs the templates (another option template, or a label
    that is not text, which the template would localise)."""
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            if not isinstance(group_name, str | Promise):
                return None
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in options:
            label = option["label"]
            if option["template_name"] != OPTION_TEMPLATE or not isinstance(label, str | Promise):
                return None
            parts.append(
                f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                f"{conditional_escape(label)}</option>\n"  # the option template's own last line break
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped as the templates escape it


def _formatted(value: object) -> str:
    """`{{ value|stringformat:'s' }}`: the value's text, escaped unless it was safe (the filter keeps safety)."""
    text = str(value)
    return text if isinstance(value, SafeData) else conditional_escape(text)


def _attrs(attrs: dict[str, Any]) -> str:
    """`attrs.html`: ` name="value"` for each attribute, ` name` for True, nothing for False."""
    return "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{_formatted(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class SendOnceForm(forms.Form):
    """A form whose sending makes something shown only once (an API token's secret, a generated private key).

    The same form sent again (a reload of the page that shows it, a double click) must make nothing more, and the
    page cannot redirect and show it afterwards, since it is never kept. So each form shown carries its own id, and
    `first_sending` says (atomically, through the cache) whether this id is sent for the first time.
    """

    form_kind = "form"  # names the form in the cache key, keeping the ids of different forms apart
    form_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["form_id"].initial = uuid.uuid4()

    def first_sending(self, request: HttpRequest) -> bool:
        """Call after `is_valid()`: whether this form is sent for the first time (its id only is kept a day)."""
        key = f"{self.form_kind}-form:{request.user.pk}:{self.cleaned_data['form_id']}"
        return cache.add(key, 1, timeout=FORM_ID_SECONDS)
