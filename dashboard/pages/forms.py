"""Query parameters in, clean values out. A form that does not validate is a 400 page."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django import forms
from django.core.validators import RegexValidator

from dashboard.failures.reasons import KEY_RE
from dashboard.failures.search import MAX_QUERY_CHARS
from dashboard.meteroid.records import JOB_TYPES, STATUSES

_JOB_ID = r"bjob_[0-9A-Za-z]{1,32}"
_CHUNK_ID = r"bjch_[0-9A-Za-z]{1,32}"
JOB_ID_RE = re.compile(rf"^{_JOB_ID}$")
CHUNK_ID_RE = re.compile(rf"^{_CHUNK_ID}$")
# A chunk that failed as a whole has no id the API shows: the dashboard names it by its rows.
CHUNK_FILTER_RE = re.compile(rf"^(?:{_CHUNK_ID}|rows-[1-9][0-9]{{0,9}}-[1-9][0-9]{{0,9}})$")
MAX_PAGE = 1_000_000
MAX_ROW = 1_000_000_000
JOBS_PER_PAGE = (10, 25, 50, 100)
FAILURES_PER_PAGE = (25, 50, 100)


# A job id inside other text: a link to a job's page, on the dashboard or elsewhere, or a
# line of a ticket. Not part of a longer word, and never cut out of a longer id.
JOB_ID_IN_TEXT_RE = re.compile(rf"(?<![0-9A-Za-z_]){_JOB_ID}(?![0-9A-Za-z])")
CHUNK_ID_IN_TEXT_RE = re.compile(rf"(?<![0-9A-Za-z_]){_CHUNK_ID}(?![0-9A-Za-z])")
MAX_PASTED_CHARS = 2000


def is_job_id(value: str) -> bool:
    return bool(JOB_ID_RE.match(value))


def job_ids_in(text: str) -> list[str]:
    """The distinct batch job ids a text names, in order of first mention."""
    return list(dict.fromkeys(JOB_ID_IN_TEXT_RE.findall(text)))


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
        """A sentence per thing wrong in the address, naming the parameter as a person
        knows it ("Rows per page can be 25, 50 or 100, not 1000.")."""
        return [
            _sentence(
                name,
                self.fields[name],
                error,
                self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data.get(name)],
            )
            for name, errors in self.errors.as_data().items()
            for error in errors
        ]

    def bad_fields(self) -> list[str]:
        """The parameters at fault: a page without them exists."""
        return list(self.errors)

    def query(self) -> str:
        raise NotImplementedError

    def canonical_query(self) -> str | None:
        """For a plain form's submission (it sends every field, empty ones too), the
        canonical query string to redirect to; None for any other address, kept as given."""
        if not any(value == "" for _, values in self.data.lists() for value in values):
            return None
        return self.query()


# What the parameters are to a person reading a message about them.
FIELD_WORDS = {
    "page": "The page",
    "per_page": "Rows per page",
    "chunk": "The chunk",
    "reason": "The reason group",
    "q": "The search",
    "row": "The row",
    "type": "The job type",
    "status": "The status",
    "days": "The time window",
    "show": "Which causes to show",
}
SHOWN_VALUE_CHARS = 40


def _sentence(name: str, field: forms.Field, error: forms.ValidationError, given: list) -> str:
    """One invalid parameter as a sentence: what it can be, and what the address gave."""
    words = FIELD_WORDS.get(name, f"The parameter {name}")
    params = error.params or {}
    raw = str(params.get("value", given[0] if given else ""))
    shown = raw if len(raw) <= SHOWN_VALUE_CHARS else raw[: SHOWN_VALUE_CHARS - 1] + "…"
    if error.code == "invalid_choice" and isinstance(field, forms.ChoiceField):
        allowed = [str(label) for value, label in field.choices if value != ""]
        listed = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else "".join(allowed)
        return f"{words} can be {listed}, not “{shown}”."
    if isinstance(field, forms.IntegerField):
        if error.code == "min_value":
            return f"{words} must be {params['limit_value']:,} or more, not {shown}."
        if error.code == "max_value":
            return f"{words} can be at most {params['limit_value']:,}, not {shown}."
        return f"{words} must be a whole number, not “{shown}”."
    if error.code == "max_length":
        return f"{words} can be at most {params['limit_value']:,} characters long; this one has {params['show_value']:,}."
    message = " ".join(error.messages)
    return (
        f"{words} “{shown}” {message[0].lower()}{message[1:]}"
        if message
        else f"{words} “{shown}” is not valid."
    )


class OpenJobQuery(forms.Form):
    """What someone pasted to open a job: its id, or any text that names exactly one job."""

    job = forms.CharField(
        max_length=MAX_PASTED_CHARS,
        strip=True,
        error_messages={"required": "Paste a batch job id (bjob_7n42DGM5Tflk9n8mt7Fhc7) or a link to a job."},
    )

    def clean_job(self) -> str:
        text = self.cleaned_data["job"]
        found = job_ids_in(text)
        if not found and CHUNK_ID_IN_TEXT_RE.search(text):
            raise forms.ValidationError(
                "What was pasted names a chunk, not a job: open the job it belongs to, "
                "then choose the chunk in its Chunk filter."
            )
        if not found:
            raise forms.ValidationError(
                "There is no batch job id in what was pasted; they look like bjob_7n42DGM5Tflk9n8mt7Fhc7."
            )
        if len(found) > 1:
            raise forms.ValidationError(
                f"What was pasted names {len(found)} jobs ({', '.join(found[:3])}"
                f"{', …' if len(found) > 3 else ''}); paste one of them."
            )
        return found[0]

    def problems(self) -> list[str]:
        return [str(message) for messages in self.errors.values() for message in messages]


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


def _chunk_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=40,
        validators=[
            RegexValidator(
                CHUNK_FILTER_RE,
                "Is not a chunk: chunk ids look like bjch_7n42DGM5Tflk9n8mt7Fhc7, or rows-51-100 for "
                "a chunk that failed as a whole.",
            )
        ],
    )


def _reason_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=12,
        validators=[RegexValidator(KEY_RE, "Is not a reason group: their keys look like 3f9a2c0b17de.")],
    )


def _search_field() -> forms.CharField:
    return forms.CharField(required=False, max_length=MAX_QUERY_CHARS, strip=True)


class JobPageQuery(_QueryForm):
    """The job page: chunk, reason group and search filters, a page of the table, and
    optionally a row to open the page of (which then decides the page)."""

    chunk = _chunk_field()
    reason = _reason_field()
    q = _search_field()
    page = forms.IntegerField(min_value=1, max_value=MAX_PAGE, required=False, initial=1)
    per_page = forms.TypedChoiceField(
        choices=[(str(n), str(n)) for n in FAILURES_PER_PAGE], coerce=int, required=False, initial=25
    )
    row = forms.IntegerField(min_value=1, max_value=MAX_ROW, required=False)

    def query(self, **changes) -> str:
        """The query string of this view, with `changes` applied and defaults left out.
        A row decides the page, so a link to another page drops the row."""
        values = {**self.cleaned_data, **changes}
        if "page" in changes:
            values["row"] = None
        params: list[tuple[str, str | int]] = []
        for name in ("chunk", "reason", "q"):
            if values.get(name):
                params.append((name, values[name]))
        if values.get("per_page") not in (None, 25):
            params.append(("per_page", values["per_page"]))
        if values.get("row"):
            params.append(("row", values["row"]))
        elif values.get("page") not in (None, 1):
            params.append(("page", values["page"]))
        return urlencode(params)

    @property
    def filtered(self) -> bool:
        """Whether the table needs the whole job's failures (a reason group or a search)."""
        return bool(self.cleaned_data.get("reason") or self.cleaned_data.get("q"))


class ExportQuery(_QueryForm):
    """The failures CSV: the job page's filters, without paging."""

    chunk = _chunk_field()
    reason = _reason_field()
    q = _search_field()

    def query(self) -> str:
        return urlencode(
            [
                (name, self.cleaned_data[name])
                for name in ("chunk", "reason", "q")
                if self.cleaned_data.get(name)
            ]
        )


class ReasonsQuery(_QueryForm):
    """The reasons page (and its CSV): optionally one chunk's failures."""

    chunk = _chunk_field()
    page = forms.IntegerField(min_value=1, max_value=MAX_PAGE, required=False, initial=1)

    def query(self, **changes) -> str:
        values = {**self.cleaned_data, **changes}
        params: list[tuple[str, str | int]] = []
        if values.get("chunk"):
            params.append(("chunk", values["chunk"]))
        if values.get("page") not in (None, 1):
            params.append(("page", values["page"]))
        return urlencode(params)


SEARCH_WINDOWS = (7, 30, 90, 365)  # days back a search across jobs looks, to choose from
ANY_TIME = 0  # the window choice that looks at every job, however old


class SearchQuery(_QueryForm):
    """The search across jobs: what to find, in the jobs of how many days back, of a type."""

    q = _search_field()
    days = forms.TypedChoiceField(
        choices=[*((str(n), f"last {n} days") for n in SEARCH_WINDOWS), (str(ANY_TIME), "any time")],
        coerce=int,
        required=False,
        initial=30,
    )
    type = forms.ChoiceField(choices=[("", "All types"), *JOB_TYPES.items()], required=False)
    page = forms.IntegerField(min_value=1, max_value=MAX_PAGE, required=False, initial=1)

    def query(self, **changes) -> str:
        """The query string of this view, with `changes` applied and defaults left out."""
        values = {**self.cleaned_data, **changes}
        params: list[tuple[str, str | int]] = []
        if values.get("q"):
            params.append(("q", values["q"]))
        if values.get("days") not in (None, 30):
            params.append(("days", values["days"]))
        if values.get("type"):
            params.append(("type", values["type"]))
        if values.get("page") not in (None, 1):
            params.append(("page", values["page"]))
        return urlencode(params)
