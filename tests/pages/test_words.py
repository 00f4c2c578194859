"""What a support person reads: patterns with their masks in words, chunks by their rows,
failed rows beside the reasons recorded, tab titles that say what a page shows. Pure parts
first, then the pages, through the gateway to the sandbox."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from dashboard.failures.reasons import mask_words, pattern_of
from dashboard.pages.failure_table import chunk_rows
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import htmx, wait_for_scan
from tests.support.index_reading import job_failures

CUSTOMERS = SHOWCASE["customers"]
SUBSCRIPTIONS = SHOWCASE["subscriptions"]
WHOLE = SHOWCASE["whole_chunks"]


# --- pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "machine", "words"),
    [
        (
            "Customer 'cus_4fQ2aB' not found",
            "Customer '<id:cus>' not found",
            "Customer a customer id not found",
        ),
        (
            "No published version 3 found for plan 'plan_7Hk2q9'",
            "No published version <n> found for plan '<id:plan>'",
            "No published version a number found for plan a plan id",
        ),
        (
            "Duplicate alias 'acme' within the same batch (first seen at row 12)",
            "Duplicate alias '…' within the same batch (first seen at row <n>)",
            "Duplicate alias a value within the same batch (first seen at row a number)",
        ),
        ("x = 'a' 'b'", "x = '…' '…'", "x = a value a value"),
        # A quote that does not close around the value stays: only a value's own quotes go.
        ("5' is too tall", "<n>' is too tall", "a number' is too tall"),
    ],
)
def test_a_pattern_reads_in_words_while_its_text_and_key_keep_the_machine_form(reason, machine, words):
    template = pattern_of(reason).template
    assert template.text == machine
    assert template.words == words


def test_every_kind_of_mask_has_words():
    assert mask_words("number") == "a number"
    assert mask_words("quoted") == "a value"
    assert mask_words("id:cus") == "a customer id"
    assert mask_words("id:zzz") == "an id (zzz_…)"
    for kind in ("time", "date", "uuid", "email", "url", "hex"):
        assert mask_words(kind).startswith(("a ", "an ")), kind


@pytest.mark.parametrize(
    ("chunk_id", "index", "size", "total", "rows"),
    [
        ("bjch_a", 0, 50, 1000, "rows 1–50"),
        ("bjch_a", 249, 50, 1000, "rows 201–250"),
        ("bjch_a", 980, 50, 990, "rows 951–990"),  # the last chunk is cut at the file's end
        ("bjch_a", 12_345, 500, None, "rows 12,001–12,500"),
        ("rows-351-400", 360, 50, 1000, "rows 351–400"),  # a whole failed chunk names its rows
        ("bjch_a", 7, None, 100, ""),  # a type whose chunk size is unknown
    ],
)
def test_a_chunk_is_named_by_its_rows(chunk_id, index, size, total, rows):
    assert chunk_rows(chunk_id, index, size, total) == rows


# --- pages --------------------------------------------------------------------------------


def _title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found, "no title"
    return htmllib.unescape(found.group(1))


@pytest.mark.django_db
def test_the_summary_says_what_failed_rows_and_reasons_recorded_are(logged_in):
    html = logged_in.get(f"/jobs/{WHOLE}/").content.decode()
    assert "Failure records" not in html
    assert "<dt>Failed rows</dt>" in html
    assert "<dt>Failed rows with a reason recorded</dt>" in html
    # Fewer rows have a reason than failed: the number says of how many.
    assert re.search(r"reason recorded</dt><dd>[\d,]+ <span class=\"muted\">of [\d,]+</span>", html)


@pytest.mark.django_db
def test_patterns_on_the_job_page_say_their_masks_in_words_with_the_values_one_click_away(logged_in):
    assert wait_for_scan(SUBSCRIPTIONS).state == "done"
    html = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/").content.decode()
    summary = html[html.index('id="reason-summary"') : html.index('id="failures-title"')]
    marks = re.findall(r'<mark class="mask" title="([^"]*)">([^<]*)</mark>', summary)
    assert marks, "the largest groups mask values"
    for title, words in marks:
        assert words.startswith(("a ", "an ")), words
        assert "&lt;" in title or "…" in title  # the machine form, on hover
    assert "&lt;n&gt;</mark>" not in summary and "&lt;id:" not in summary.split("title=")[0]
    # The values: a <details> that fetches the group's exact reasons, a link without scripts.
    details = re.findall(
        r'<details class="values" hx-get="(/jobs/[^/]+/reasons/[0-9a-f]{12}/)"[^>]*>\s*<summary>Which values\?</summary>'
        r'\s*<div id="exact-top-[0-9a-f]{12}" class="exact-list"><a href="\1">List the exact reasons</a>',
        summary,
    )
    assert details
    exact = logged_in.get(details[0], **htmx("exact-top-x")).content.decode()
    assert '<table class="exact-reasons">' in exact
    # Group keys in links are unchanged hashes.
    assert re.search(r'href="/jobs/[^/]+/\?reason=[0-9a-f]{12}"', summary)


@pytest.mark.django_db
def test_the_csv_exports_keep_the_machine_form_of_patterns(logged_in):
    assert wait_for_scan(CUSTOMERS).state == "done"
    body = b"".join(logged_in.get(f"/jobs/{CUSTOMERS}/reasons.csv").streaming_content).decode("utf-8-sig")
    assert "'<id:cus>'" in body or "'…'" in body
    assert "a customer id" not in body and "a value" not in body


@pytest.mark.django_db
def test_the_reasons_page_and_the_reason_filter_read_in_words(logged_in):
    assert wait_for_scan(CUSTOMERS).state == "done"
    reasons = logged_in.get(f"/jobs/{CUSTOMERS}/reasons/").content.decode()
    assert re.search(r'<mark class="mask" title="[^"]+">a (value|customer id|number)</mark>', reasons)
    page = logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode()
    options = re.findall(r'<select id="reason" name="reason">(.*?)</select>', page, re.S)[0]
    assert "&lt;n&gt;" not in options and "&lt;id:" not in options and "'…'" not in options


@pytest.mark.django_db
def test_rows_to_fix_and_row_group_links_say_what_they_are(logged_in):
    assert wait_for_scan(CUSTOMERS).state == "done"
    html = logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode()
    assert "Their input rows, to fix" not in html and "all like this" not in html
    assert ">Rows to fix, from the input file</a>" in html
    assert re.search(
        r'<a class="similar" href="\?reason=[0-9a-f]{12}" tabindex="-1">[\d,]+ rows failed this way</a>', html
    )


@pytest.mark.django_db
def test_a_reason_group_of_one_row_gets_no_link_to_itself(logged_in):
    analysis = job_failures(SUBSCRIPTIONS)
    single = next((g for g in analysis.grouping.groups if g.count == 1), None)
    if single is None:
        pytest.skip("the demo job has no reason group of one row")
    row = single.positions.page(0, 1)[0].row_number
    html = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/?row={row}").content.decode()
    cells = re.search(rf'<tr id="row-{row}"[^>]*>(.*?)</tr>', html, re.S)
    assert cells and f"?reason={single.key}" not in cells.group(1)


@pytest.mark.django_db
def test_the_chunk_filter_names_the_chunk_by_its_rows_first(logged_in):
    assert wait_for_scan(CUSTOMERS).state == "done"
    chunk = re.findall(r'href="\?chunk=(bjch_\w+)"', logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode())[0]
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?chunk={chunk}").content.decode()
    assert re.search(
        rf'in rows [\d,]+–[\d,]+ <span class="muted">\(chunk <span class="mono">{chunk}</span>\)', html
    )


@pytest.mark.django_db
def test_tab_titles_say_what_the_page_shows(logged_in):
    assert wait_for_scan(CUSTOMERS).state == "done"
    plain = _title(logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode())
    assert plain.startswith("Customers import · customers-") and plain.endswith(
        f"{CUSTOMERS} · Meteroid failures"
    )
    chunk = re.findall(r'href="\?chunk=(bjch_\w+)"', logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode())[0]
    chunked = _title(logged_in.get(f"/jobs/{CUSTOMERS}/?chunk={chunk}&page=1").content.decode())
    assert re.search(r" · rows [\d,]+–[\d,]+ · ", chunked)
    searched = _title(logged_in.get(f"/jobs/{CUSTOMERS}/?q=acme&page=1").content.decode())
    assert "search “acme”" in searched
    second = _title(logged_in.get(f"/jobs/{CUSTOMERS}/?page=2").content.decode())
    assert " · page 2 · " in second
    # An htmx swap of the table brings the tab's new title beside it (htmx takes it).
    fragment = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2", **htmx("failures")).content.decode()
    assert fragment.lstrip().startswith('<section id="failures"')
    assert " · page 2 · " in _title(fragment)
    # Kept rendered, the same view says the same.
    again = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2", **htmx("failures")).content.decode()
    assert _title(again) == _title(fragment)


@pytest.mark.django_db
def test_the_jobs_lists_title_says_its_filters(logged_in):
    assert _title(logged_in.get("/jobs/").content.decode()) == "Batch jobs · Meteroid failures"
    html = logged_in.get("/jobs/?type=CUSTOMER_CSV_IMPORT&status=FAILED&status=CANCELLED").content.decode()
    assert _title(html) == "Batch jobs · Customers import · Failed, Cancelled · Meteroid failures"
    fragment = logged_in.get("/jobs/?status=FAILED", **htmx("jobs-table")).content.decode()
    assert _title(fragment) == "Batch jobs · Failed · Meteroid failures"


@pytest.mark.django_db
def test_a_page_past_the_end_of_the_failures_links_to_the_last(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?per_page=50&page=999")
    html = response.content.decode()
    assert response.status_code == 404
    last = int(re.search(r"There is no page 999 of these failures: the last is (\d+)\.", html).group(1))
    assert f'href="/jobs/{CUSTOMERS}/?per_page=50&amp;page={last}">Go to page {last}</a>' in html
    assert logged_in.get(f"/jobs/{CUSTOMERS}/?per_page=50&page={last}").status_code == 200


@pytest.mark.django_db
def test_a_bad_parameter_on_the_job_page_gets_a_sentence_and_the_page_without_it(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?per_page=1000&q=acme")
    html = htmllib.unescape(response.content.decode())
    assert response.status_code == 400
    assert "Rows per page can be 25, 50 or 100, not “1000”." in html
    assert "Select a valid choice" not in html and "per_page:" not in html
    assert f'href="/jobs/{CUSTOMERS}/?q=acme">Show this page without it</a>' in html


@pytest.mark.django_db
def test_the_reasons_page_names_chunks_by_their_rows_with_the_id_beside(logged_in):
    assert wait_for_scan(CUSTOMERS).state == "done"
    html = logged_in.get(f"/jobs/{CUSTOMERS}/reasons/").content.decode()
    named = re.findall(
        r'<a href="/jobs/[^/]+/reasons/\?chunk=(bjch_\w+)">rows ([\d,]+)–([\d,]+)</a> <span class="muted">\([\d,]+\)</span>'
        r' <small class="mono muted">\1</small>',
        html,
    )
    assert named
    for _, start, end in named:
        assert int(end.replace(",", "")) - int(start.replace(",", "")) == 49  # customers: 50 rows a chunk


@pytest.mark.django_db
def test_the_reasons_pages_title_says_the_job_and_chunk(logged_in):
    assert wait_for_scan(CUSTOMERS).state == "done"
    whole = _title(logged_in.get(f"/jobs/{CUSTOMERS}/reasons/").content.decode())
    assert whole.startswith("Why rows failed · Customers import · customers-")
    chunk = re.findall(r"\?chunk=(bjch_\w+)", logged_in.get(f"/jobs/{CUSTOMERS}/reasons/").content.decode())[
        0
    ]
    fragment = logged_in.get(f"/jobs/{CUSTOMERS}/reasons/?chunk={chunk}", **htmx("reasons")).content.decode()
    assert fragment.lstrip().startswith('<section id="reasons"')
    assert re.search(r" · rows [\d,]+–[\d,]+ · bjob_", _title(fragment))


@pytest.mark.django_db
def test_with_a_chunk_chosen_a_rows_group_link_says_its_count_is_the_whole_jobs(logged_in):
    assert wait_for_scan(CUSTOMERS).state == "done"
    chunk = re.findall(r'href="\?chunk=(bjch_\w+)"', logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode())[0]
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?chunk={chunk}").content.decode()
    links = re.findall(r'<a class="similar" href="\?reason=[0-9a-f]{12}" tabindex="-1">([^<]*)</a>', html)
    assert links and all(
        re.fullmatch(r"[\d,]+ rows in the whole job failed this way", words) for words in links
    )
