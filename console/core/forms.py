"""Form building blocks every app may use (this module imports no app)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.cache import cache
from django.http import HttpRequest

FORM_ID_SECONDS = 24 * 3600  # how long a sent form's id is remembered


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
