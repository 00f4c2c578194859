import pytest
from django.http import QueryDict

from dashboard.pages.forms import (
    FIELD_WORDS,
    ExportQuery,
    JobListQuery,
    JobPageQuery,
    OpenJobQuery,
    ReasonsQuery,
    is_job_id,
    job_ids_in,
)


def _form(cls, query: str):
    form = cls(QueryDict(query))
    return form, form.is_valid()


def test_job_list_defaults():
    form, ok = _form(JobListQuery, "")
    assert ok
    assert form.cleaned_data == {"type": "", "status": [], "page": 1, "per_page": 25}
    assert form.query() == ""


def test_job_list_keeps_repeated_statuses_and_drops_defaults_from_its_links():
    form, ok = _form(
        JobListQuery, "status=FAILED&status=COMPLETED_WITH_ERRORS&type=CUSTOMER_CSV_IMPORT&page=1"
    )
    assert ok
    assert form.query(page=2) == "type=CUSTOMER_CSV_IMPORT&status=FAILED&status=COMPLETED_WITH_ERRORS&page=2"


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=1e9",
        "per_page=7",
        "type=NOPE",
        "status=DONE",
        "page=99999999999",
    ],
)
def test_job_list_refuses_bad_values_and_names_them(query):
    form, ok = _form(JobListQuery, query)
    assert not ok
    name = query.split("=")[0]
    assert form.bad_fields() == [name]
    # A sentence naming the parameter as a person knows it, never a form's error message.
    for sentence in form.problems():
        assert sentence.startswith(FIELD_WORDS[name]) and sentence.endswith(".")
        assert "Select a valid" not in sentence and "Enter a whole number" not in sentence


@pytest.mark.parametrize(
    "query", ["chunk=x", "chunk=bjob_abc", "chunk=bjch_a-b", "per_page=10", "page=-1", "page="]
)
def test_job_page_refuses_bad_values(query):
    _, ok = _form(JobPageQuery, query)
    assert ok is (query == "page=")


def test_job_page_links_keep_the_chunk():
    form, ok = _form(JobPageQuery, "chunk=bjch_7n42DGM5Tflk9n8mt7Fhc7&per_page=50&page=3")
    assert ok
    assert form.query(page=4) == "chunk=bjch_7n42DGM5Tflk9n8mt7Fhc7&per_page=50&page=4"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("bjob_7n42DGM5Tflk9n8mt7Fhc7", True),
        ("bjob_", False),
        ("bjch_7n42", False),
        ("bjob_../../etc", False),
    ],
)
def test_job_ids(value, ok):
    assert is_job_id(value) is ok


def test_job_page_links_keep_every_filter_and_leave_out_defaults():
    form, ok = _form(
        JobPageQuery, "q=+Acme+GmbH+&reason=3f9a2c0b17de&chunk=bjch_7n42DGM5Tflk9n8mt7Fhc7&per_page=25&page=1"
    )
    assert ok
    assert form.cleaned_data["q"] == "Acme GmbH"
    assert form.query() == "chunk=bjch_7n42DGM5Tflk9n8mt7Fhc7&reason=3f9a2c0b17de&q=Acme+GmbH"
    assert form.query(page=2).endswith("&page=2")
    assert form.filtered


def test_a_row_decides_the_page_and_paging_drops_the_row():
    form, ok = _form(JobPageQuery, "row=517&page=3&per_page=50")
    assert ok
    assert form.query() == "per_page=50&row=517"
    assert form.query(page=4) == "per_page=50&page=4"
    assert not form.filtered


@pytest.mark.parametrize(
    "query",
    [
        "reason=nope",
        "reason=3F9A2C0B17DE",
        "reason=3f9a2c0b17de0",
        "row=0",
        "row=-3",
        "row=x",
        "q=" + "x" * 201,
    ],
)
def test_job_page_refuses_bad_reason_row_and_search(query):
    form, ok = _form(JobPageQuery, query)
    assert not ok
    name = query.split("=")[0]
    assert form.bad_fields() == [name]
    # A sentence naming the parameter as a person knows it, never a form's error message.
    for sentence in form.problems():
        assert sentence.startswith(FIELD_WORDS[name]) and sentence.endswith(".")
        assert "Select a valid" not in sentence and "Enter a whole number" not in sentence


def test_exports_and_reasons_take_only_their_filters():
    form, ok = _form(ExportQuery, "chunk=bjch_7n42DGM5Tflk9n8mt7Fhc7&q=x&page=9")
    assert ok and form.query() == "chunk=bjch_7n42DGM5Tflk9n8mt7Fhc7&q=x"
    form, ok = _form(ReasonsQuery, "chunk=bjch_7n42DGM5Tflk9n8mt7Fhc7&page=2")
    assert ok and form.query(page=3) == "chunk=bjch_7n42DGM5Tflk9n8mt7Fhc7&page=3"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("bjob_7n42DGM5Tflk9n8mt7Fhc7", ["bjob_7n42DGM5Tflk9n8mt7Fhc7"]),
        (
            "https://dash.example/jobs/bjob_7n42DGM5Tflk9n8mt7Fhc7/?chunk=bjch_1&page=2",
            ["bjob_7n42DGM5Tflk9n8mt7Fhc7"],
        ),
        ("Import bjob_A1 failed, see bjob_B2 and bjob_A1 again.", ["bjob_A1", "bjob_B2"]),
        ("(bjob_A1)", ["bjob_A1"]),
        ("xbjob_A1 my_bjob_A1 bjob_ bjob_-A1", []),
        # Never cut out of a longer id.
        ("bjob_" + "a" * 33, []),
        ("bjob_" + "a" * 32, ["bjob_" + "a" * 32]),
    ],
)
def test_job_ids_are_found_in_pasted_text_whole_or_not_at_all(text, found):
    assert job_ids_in(text) == found


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Paste a batch job id"),
        ("   ", "Paste a batch job id"),
        ("customer acme-1", "There is no batch job id"),
        ("chunk bjch_1QQehRMxO3XPF4d1dBcwOU failed", "names a chunk, not a job"),
        (
            "bjob_A1 bjob_B2 bjob_C3 bjob_D4",
            "names 4 jobs (bjob_A1, bjob_B2, bjob_C3, …); paste one of them.",
        ),
        ("bjob_A1 " * 300, "Ensure this value has at most 2000 characters"),
    ],
)
def test_opening_a_job_says_what_was_wrong_with_the_text(text, problem):
    form = OpenJobQuery({"job": text})
    assert not form.is_valid()
    (message,) = form.problems()
    assert problem in message


def test_opening_a_job_takes_an_id_among_spaces_and_words():
    form = OpenJobQuery({"job": "  job bjob_7n42DGM5Tflk9n8mt7Fhc7 failed \n"})
    assert form.is_valid()
    assert form.cleaned_data["job"] == "bjob_7n42DGM5Tflk9n8mt7Fhc7"
