"""Query parameters in, clean values out. A form that does not validate is a 400 page."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django import forms
from django.core.validators import RegexValidator

from dashboard.meteroid.records import JOB_TYPES, STATUSES

JOB_ID_RE = re.compile(r"^bjob_[0-9A-Za-z]{1,32}$")
CHUNK_ID_RE = re.compile(r"^bjch_[0-9A-Za-z]{1,32}$")
MAX_PAGE = 1_000_000
JOBS_PER_PAGE = (10, 25, 50, 100)
FAILURES_PER_PAGE = (25, 50, 100)


def is_job_id(value: str) -> bool:
    return bool(JOB_ID_RE.match(value))


class _QueryForm(forms.Form):
    """A GET form whose empty fields fall back to their initial values."""

    def __init__(self, data=None, **kwargs):
        super().__init__(data if data is not None else {}, **kwargs)

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            if cleaned.get(name) in (None, "", []) and field.initial is not None:
                cleaned[name] = field.initial
        return cleaned

    def problems(self) -> list[str]:
        """One readable line per invalid parameter, naming it."""
        return [
            f"{name}: {' '.join(str(message) for message in messages)}"
            for name, messages in self.errors.items()
        ]


class JobListQuery(_QueryForm):
    type = forms.ChoiceField(choices=[("", "All types"), *JOB_TYPES.items()], required=False)
    status = forms.MultipleChoiceField(choices=list(STATUSES.items()), required=False)
    page = forms.IntegerField(min_value=1, max_value=MAX_PAGE, required=False, initial=1)
    per_page = forms.TypedChoiceField(
        choices=[(str(n), str(n)) for n in JOBS_PER_PAGE], coerce=int, required=False, initial=25
    )

    def query(self, **changes) -> str:
        """The query string of this view, with `changes` applied and defaults left out."""
        values = {**self.cleaned_data, **changes}
        params: list[tuple[str, str | int]] = []
        if values.get("type"):
            params.append(("type", values["type"]))
        params.extend(("status", status) for status in values.get("status") or [])
        if values.get("per_page") not in (None, 25):
            params.append(("per_page", values["per_page"]))
        if values.get("page") not in (None, 1):
            params.append(("page", values["page"]))
        return urlencode(params)


class JobPageQuery(_QueryForm):
    chunk = forms.CharField(
        required=False,
        max_length=40,
        validators=[
            RegexValidator(CHUNK_ID_RE, "Not a chunk id (they look like bjch_7n42DGM5Tflk9n8mt7Fhc7).")
        ],
    )
    page = forms.IntegerField(min_value=1, max_value=MAX_PAGE, required=False, initial=1)
    per_page = forms.TypedChoiceField(
        choices=[(str(n), str(n)) for n in FAILURES_PER_PAGE], coerce=int, required=False, initial=25
    )

    def query(self, **changes) -> str:
        values = {**self.cleaned_data, **changes}
        params: list[tuple[str, str | int]] = []
        if values.get("chunk"):
            params.append(("chunk", values["chunk"]))
        if values.get("per_page") not in (None, 25):
            params.append(("per_page", values["per_page"]))
        if values.get("page") not in (None, 1):
            params.append(("page", values["page"]))
        return urlencode(params)
