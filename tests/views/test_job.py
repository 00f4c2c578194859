"""One job's page: summary, failures table, chunk filter, through the gateway to the sandbox."""

from __future__ import annotations

import html as htmllib
import itertools
import re

import pytest
from django.test import override_settings

from dashboard.index.reading import JobFailures
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import htmx, upstream_calls, wait_for_scan
from tests.support.index_reading import every_failure, job_failures

pytestmark = pytest.mark.django_db

CUSTOMERS = SHOWCASE["customers"]


def _rows(html: str) -> list[tuple[str, str]]:
    """(row number, chunk id) of each failure row shown. A run of rows from one chunk shows
    the chunk once, in a cell that spans them."""
    rows, chunk = [], ""
    for number, cells in re.findall(r'<tr id="row-(\d+)"[^>]*>(.*?)</tr>', html, re.S):
        if found := re.search(r'<td class="chunk"[^>]*><a href="\?chunk=(bjch_[0-9A-Za-z]+)', cells):
            chunk = found.group(1)
        elif found := re.search(r'<td class="chunk whole"[^>]*><a href="\?chunk=(rows-\d+-\d+)', cells):
            chunk = found.group(1)  # a chunk that failed as a whole, named by its rows
        rows.append((number, chunk))
    return rows


def test_it_needs_a_login_and_comes_back_to_the_same_view(client, user):
    url = f"/jobs/{CUSTOMERS}/?per_page=50&page=2"
    response = client.get(url)
    assert response.status_code == 302
    login_url = response["Location"]
    assert login_url.startswith("/accounts/login/?next=")
    page = client.get(login_url)
    assert page.status_code == 200
    response = client.post(
        "/accounts/login/",
        {"username": "support", "password": "correct horse battery", "next": page.context["next"]},
    )
    assert response.status_code == 302
    assert response["Location"] == url


def test_htmx_requests_of_an_ended_session_send_the_browser_to_login(client):
    response = client.get(
        f"/jobs/{CUSTOMERS}/?page=2",
        **htmx("failures"),
        HTTP_HX_CURRENT_URL=f"http://testserver/jobs/{CUSTOMERS}/?chunk=bjch_x&page=3",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/accounts/login/?next=/jobs/{CUSTOMERS}/%3Fchunk%3Dbjch_x%26page%3D3"


def test_the_whole_page_has_the_summary_and_the_first_failures(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="job-summary"' in html and 'id="failures"' in html
    rows = _rows(html)
    assert len(rows) == 25
    numbers = [int(n) for n, _ in rows]
    assert numbers == sorted(numbers)
    assert "Errors CSV" in html


def test_htmx_gets_only_the_failures_section(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2", **htmx("failures"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="failures"')
    assert 'id="job-summary"' not in html and "<html" not in html
    assert len(_rows(html)) == 25
    assert "HX-Target" in response["Vary"]


def test_the_poll_that_sees_a_job_ended_brings_the_summary_and_every_part_ended(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/", **htmx("job-summary"))
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="job-summary"')
    # A terminal job's summary carries no poll; the other parts come out of band, at once.
    assert "every 3s" not in html and "HX-Trigger" not in response
    for part in ('<section id="reason-summary"', '<div id="scan-filters"', '<section id="failures"'):
        assert re.search(part + r'[^>]*hx-swap-oob="true"', html), part
    assert "<html" not in html


def test_the_full_page_and_the_fragment_show_the_same_rows(logged_in):
    full = _rows(logged_in.get(f"/jobs/{CUSTOMERS}/?page=3&per_page=50").content.decode())
    part = _rows(logged_in.get(f"/jobs/{CUSTOMERS}/?page=3&per_page=50", **htmx("failures")).content.decode())
    assert full == part and len(full) == 50


def test_the_chunk_filter_keeps_only_that_chunks_rows(logged_in):
    status = wait_for_scan(CUSTOMERS)
    assert status.state == "done"
    chunks = status.result.chunks
    assert len(chunks) > 1
    chunk = chunks[1]
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?chunk={chunk.chunk_id}&per_page=100").content.decode()
    rows = _rows(html)
    assert len(rows) == chunk.failures
    assert {c for _, c in rows} == {chunk.chunk_id}
    assert all(chunk.row_start <= int(n) <= chunk.row_end for n, _ in rows)
    assert f'value="{chunk.chunk_id}" selected' in html


def test_the_chunk_list_comes_in_file_order_with_ranges_and_counts(logged_in):
    status = wait_for_scan(CUSTOMERS)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/chunks/").content.decode()
    options = re.findall(
        r'<option value="(bjch_[0-9A-Za-z]+)">rows ([\d,]+)–([\d,]+) · ([\d,]+) failed', html
    )
    assert [o[0] for o in options] == [c.chunk_id for c in status.result.chunks]
    starts = [int(o[1].replace(",", "")) for o in options]
    assert starts == sorted(starts)
    job_failures = sum(int(o[3].replace(",", "")) for o in options)
    total = re.search(r"of ([\d,]+)\s*</p>", logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode(), re.S)
    assert total and job_failures == int(total.group(1).replace(",", ""))


def test_the_chunk_list_shows_progress_until_it_is_ready(logged_in):
    # The page only asks for the index: no worker has read it yet.
    html = logged_in.get(f"/jobs/{SHOWCASE['big']}/").content.decode()
    assert "Reading every failure to list chunks and reasons" in html
    assert 'hx-trigger="load delay:1s"' in html
    # The table does not wait for the scan.
    assert len(_rows(html)) == 25


def test_each_rows_chunk_links_to_its_filter_once_per_run_of_rows(logged_in):
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2").content.decode()
    rows = _rows(html)
    runs = [(chunk, len(list(run))) for chunk, run in itertools.groupby(c for _, c in rows)]
    assert len(runs) > 1, "this page spans several chunks"
    # A chunk is named by its rows in the file first (customers: 50 rows a chunk), its id second.
    cells = re.findall(
        r'<td class="chunk"(?: rowspan="(\d+)")?><a href="\?chunk=(bjch_\w+)" tabindex="-1">rows ([\d,]+)–([\d,]+)</a>'
        r' <small class="mono">\2</small>',
        html,
    )
    assert [(chunk, int(span or 1)) for span, chunk, _, _ in cells] == runs
    first_rows = [int(number) for number, _ in rows]
    starts = [int(start.replace(",", "")) for _, _, start, _ in cells]
    ends = [int(end.replace(",", "")) for _, _, _, end in cells]
    assert starts[0] == (first_rows[0] - 1) // 50 * 50 + 1
    assert all(end - start == 49 for start, end in zip(starts, ends, strict=True))
    assert '<tbody hx-boost="true" hx-push-url="true">' in html


def test_paging_back_and_forth_costs_no_upstream_call(logged_in):
    for page in (1, 2, 1, 2):
        logged_in.get(f"/jobs/{CUSTOMERS}/?page={page}", **htmx("failures"))
    before = upstream_calls()
    for page in (1, 2, 1, 2):
        logged_in.get(f"/jobs/{CUSTOMERS}/?page={page}", **htmx("failures"))
    logged_in.get(f"/jobs/{CUSTOMERS}/?page=2")
    assert upstream_calls() == before


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/jobs/not-a-job/", 404, "That is not a batch job id."),
        ("/jobs/bjob_0000000000000000000000/", 404, "No such batch job."),
        (f"/jobs/{CUSTOMERS}/?page=-1", 400, "The page must be 1 or more, not -1."),
        (f"/jobs/{CUSTOMERS}/?page=abc", 400, "The page must be a whole number, not “abc”."),
        (f"/jobs/{CUSTOMERS}/?per_page=7", 400, "Rows per page can be 25, 50 or 100, not “7”."),
        (f"/jobs/{CUSTOMERS}/?chunk=nonsense", 400, "The chunk “nonsense” is not a chunk"),
        (
            f"/jobs/{CUSTOMERS}/?chunk=bjch_0000000000000000000000",
            404,
            "This job has no failures in that chunk.",
        ),
        (
            f"/jobs/{CUSTOMERS}/?page=100000",
            404,
            "There is no page 100,000 of these failures: the last is 13.",
        ),
    ],
)
def test_bad_input_gets_a_clear_page_with_the_right_status(logged_in, path, status, text):
    response = logged_in.get(path)
    html = response.content.decode()
    assert response.status_code == status
    assert htmllib.escape(text, quote=False) in html or text in html
    assert "Traceback" not in html


def test_rows_lost_with_whole_chunks_are_explained(logged_in):
    # Once read from the errors CSV, they are counted with the failure records.
    wait_for_scan(SHOWCASE["whole_chunks"])
    html = logged_in.get(f"/jobs/{SHOWCASE['whole_chunks']}/").content.decode()
    assert "chunks that failed as a whole, read from Meteroid's errors CSV" in html


def test_a_job_without_failures_says_so(logged_in):
    html = logged_in.get(f"/jobs/{SHOWCASE['no_failures']}/").content.decode()
    assert "This job has no failures." in html or "lost with whole chunks" in html
    assert '<table class="failures"' not in html


def test_hostile_text_is_shown_escaped(logged_in):
    job = SHOWCASE["hostile"]
    pages = [logged_in.get(f"/jobs/{job}/?per_page=100&page={n}").content.decode() for n in (1, 2, 3)]
    html = "".join(pages)
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@override_settings(SANDBOX_RATE_500=1.0)
def test_an_upstream_error_is_a_message_in_the_page(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/")
    assert response.status_code == 502
    assert "Try again" in response.content.decode()


def test_an_upstream_error_on_the_table_keeps_the_summary(logged_in, settings):
    logged_in.get(f"/jobs/{CUSTOMERS}/")  # the job itself is now cached
    settings.SANDBOX_RATE_500 = 1.0
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?page=3")
    html = response.content.decode()
    assert response.status_code == 502
    assert 'id="job-summary"' in html
    assert "The failures could not be loaded." in html


def test_long_text_shows_its_start_with_the_whole_of_it_one_click_away(logged_in):
    html = logged_in.get(f"/jobs/{SHOWCASE['hostile']}/").content.decode()
    assert re.search(
        r'<details><summary tabindex="-1"><span class="when-closed">Show all 2,143 characters</span>', html
    )
    whole = max(re.findall(r'<div class="whole">(.*?)</div>', html, re.S), key=len)
    assert len(htmllib.unescape(whole)) == 2143


def test_characters_that_reorder_text_are_written_out(logged_in):
    job = SHOWCASE["hostile"]
    html = "".join(logged_in.get(f"/jobs/{job}/?per_page=100&page={n}").content.decode() for n in (1, 2))
    assert "\u202e" not in html
    assert "invoice-⟨U+202E⟩gpj.exe" in html


# --- Reason groups, search and row links --------------------------------------------------

SUBSCRIPTIONS = SHOWCASE["subscriptions"]


def _analysis(job_id: str) -> JobFailures:
    return job_failures(job_id)


def _count(html: str) -> tuple[int, int, int]:
    found = re.search(r"Failures ([\d,]+)–([\d,]+) of ([\d,]+)", html)
    assert found, "no count line"
    return tuple(int(n.replace(",", "")) for n in found.groups())  # type: ignore[return-value]


def _reasons_shown(html: str) -> list[str]:
    """The reasons in the table (short ones, shown whole)."""
    return [
        htmllib.unescape(r)
        for r in re.findall(r'<td class="reason">([^<]*?)(?: <a class="similar" href="\?reason=|</td>)', html)
    ]


def test_the_largest_reason_groups_are_summed_up_above_the_table(logged_in):
    analysis = _analysis(SUBSCRIPTIONS)
    html = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/").content.decode()
    summary = html[html.index('id="reason-summary"') : html.index('id="failures-title"')]
    keys = re.findall(r'href="/jobs/[^/]+/\?reason=([0-9a-f]{12})"', summary)
    assert keys == [g.key for g in analysis.grouping.groups[:5]]
    assert f"All {len(analysis.grouping.groups)} reason groups" in summary
    assert " style=" not in html


def test_the_summary_shows_progress_while_the_scan_runs(logged_in):
    html = logged_in.get(f"/jobs/{SHOWCASE['events']}/").content.decode()
    summary = html[html.index('id="reason-summary"') : html.index('id="failures-title"')]
    assert "Reading every failure of this job to count the reasons" in summary
    assert 'hx-trigger="load delay:1s, scan-finished from:body"' in summary


def test_a_reason_group_link_shows_exactly_its_failures(logged_in):
    analysis = _analysis(SUBSCRIPTIONS)
    top = analysis.grouping.groups[0]
    html = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/?reason={top.key}&per_page=100").content.decode()
    assert _count(html) == (1, min(100, top.count), top.count)
    from dashboard.failures.reasons import pattern_of

    shown = _reasons_shown(html)
    assert len(shown) == min(100, top.count)
    assert {pattern_of(reason).key for reason in shown} == {top.key}
    assert f'<option value="{top.key}" selected>' in html
    # The fragment says the same.
    fragment = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/?reason={top.key}&per_page=100", **htmx("failures"))
    assert _reasons_shown(fragment.content.decode()) == shown


def test_a_reason_group_combines_with_a_chunk_and_pages(logged_in):
    analysis = _analysis(SUBSCRIPTIONS)
    top = analysis.grouping.groups[0]
    chunk = top.positions.chunks()[0][0]
    expected = analysis.select(chunk_id=chunk, group_key=top.key)
    html = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/?chunk={chunk}&reason={top.key}").content.decode()
    assert _count(html)[2] == len(expected)
    assert {c for _, c in _rows(html)} == {chunk}
    big = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/?reason={top.key}&page=2").content.decode()
    assert _count(big)[:2] == (26, min(50, top.count))
    assert f"reason={top.key}&amp;page=3" in big or top.count <= 50


def test_each_row_links_to_its_group_and_to_itself(logged_in):
    html = logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode()
    from dashboard.failures.reasons import pattern_of

    row, _ = _rows(html)[0]
    reason = _reasons_shown(html)[0]
    assert re.search(
        rf'<a class="similar" href="\?reason={pattern_of(reason).key}" tabindex="-1">'
        r"(?:[\d,]+ rows failed|rows that failed) this way</a>",
        html,
    )
    assert f'href="?row={row}#row-{row}"' in html


def test_search_finds_identifiers_and_reasons_and_counts_them(logged_in):
    analysis = _analysis(SUBSCRIPTIONS)
    expected = [
        failure
        for failure in every_failure(analysis.select())
        if "no published" in failure.reason.lower()
        or "no published" in (failure.item_identifier or "").lower()
    ]
    html = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/?q=NO+PUBLISHED").content.decode()
    assert _count(html)[2] == len(expected)
    assert 'matching <q class="search-term"><bdi>NO PUBLISHED</bdi></q>' in html
    assert 'value="NO PUBLISHED"' in html
    identifier = expected[0].item_identifier or ""
    one = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/?q={identifier}", **htmx("failures")).content.decode()
    assert _count(one)[2] >= 1
    assert identifier in one


def test_search_is_as_you_type_and_works_as_a_plain_form(logged_in):
    html = logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode()
    form = html[html.index('<form id="failure-filters"') :]
    search = form[form.index('<input type="search"') :]
    search = search[: search.index(">")]
    assert 'name="q"' in search
    assert 'hx-trigger="input changed delay:300ms, search"' in search
    assert 'hx-include="closest form"' in search
    form = html[html.index('<form id="failure-filters"') :]
    assert form.index('name="q"') < form.index("</form>")
    assert f'action="/jobs/{CUSTOMERS}/"' in form[:300] and 'method="get"' in form[:300]


def test_a_search_without_matches_says_so(logged_in):
    wait_for_scan(CUSTOMERS)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?q=zzz-nothing-zzz").content.decode()
    assert "No failure matching" in html
    assert "<table" not in html


def test_a_search_waits_for_the_scan_instead_of_answering_half(logged_in):
    response = logged_in.get(f"/jobs/{SHOWCASE['events']}/?q=customer", **htmx("failures"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Reading every failure of this job to search them" in html
    assert 'hx-trigger="load delay:1s, scan-finished from:body"' in html
    assert "<table" not in html and "Failures 1–" not in html
    assert f'href="/jobs/{SHOWCASE["events"]}/failures.csv?q=customer" download' in html


def test_a_row_link_opens_the_page_that_holds_the_row_and_marks_it(logged_in):
    analysis = _analysis(CUSTOMERS)
    target = analysis.select().page(60, 1)[0].row_number  # the 61st failure: page 3 of 25
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?row={target}").content.decode()
    assert _count(html)[:2] == (51, 75)
    assert f'<tr id="row-{target}" class="is-target" aria-current="true">' in html
    assert '<span class="current" aria-current="page">3</span>' in html
    assert "page=2" in html  # paging away drops the row
    assert "row-link.js" in html


def test_row_links_past_a_thousand_carry_the_plain_number_and_lead_to_the_row(logged_in):
    job = SHOWCASE["whole_chunks"]
    wait_for_scan(job)  # its table holds the rows of its whole failed chunks once read
    last = logged_in.get(f"/jobs/{job}/?per_page=100").content.decode()
    pages = int(re.findall(r'aria-label="Page (\d+)"', last)[-1])
    html = logged_in.get(f"/jobs/{job}/?per_page=100&page={pages}").content.decode()
    number = max(int(n) for n, _ in _rows(html))
    assert number >= 1000, "the last page holds rows past a thousand"
    assert f'<tr id="row-{number}">' in html
    assert f'href="?per_page=100&amp;row={number}#row-{number}">{number:,}</a>' in html
    marked = logged_in.get(f"/jobs/{job}/?per_page=100&row={number}").content.decode()
    assert f'<tr id="row-{number}" class="is-target" aria-current="true">' in marked
    chunk = _rows(html)[-1][1]
    reasons = logged_in.get(f"/jobs/{job}/reasons/?chunk={chunk}").content.decode()
    examples = re.findall(r"row=(\d+)#row-(\d+)\">Row ([\d,]+)</a>", reasons)
    assert examples and all(a == b == c.replace(",", "") for a, b, c in examples)
    assert any(int(a) >= 1000 for a, _, _ in examples)


def test_a_row_link_works_under_filters(logged_in):
    analysis = _analysis(SUBSCRIPTIONS)
    top = analysis.grouping.groups[0]
    positions = analysis.select(group_key=top.key)
    target = positions.page(min(40, len(positions) - 1), 1)[0].row_number
    html = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/?reason={top.key}&row={target}").content.decode()
    assert f'id="row-{target}" class="is-target"' in html
    assert _count(html)[2] == top.count


def test_a_row_without_a_failure_opens_where_it_would_be_and_says_so(logged_in):
    analysis = _analysis(CUSTOMERS)
    failing = {failure.row_number for failure in every_failure(analysis.select())}
    missing = next(n for n in range(2, 10_000) if n not in failing and n - 1 in failing)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?row={missing}").content.decode()
    assert f"Row {missing:,} has no failure: this is the page where it would be." in html
    assert f'id="row-{missing - 1}"' in html
    assert 'class="is-target"' not in html


def test_an_unknown_reason_group_is_a_clear_404(logged_in):
    wait_for_scan(CUSTOMERS)
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?reason=000000000000")
    assert response.status_code == 404
    assert "This job has no such reason group." in response.content.decode()


def test_a_failed_scan_says_so_and_can_be_retried(logged_in, settings):
    from dashboard.meteroid.gateway import get_gateway

    get_gateway().job(CUSTOMERS)  # cached: only the scan will meet the errors
    settings.SANDBOX_RATE_500 = 1.0
    status = wait_for_scan(CUSTOMERS)
    assert status.state == "failed"
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?q=acme").content.decode()
    assert "Reading every failure of this job failed, so the dashboard cannot search them" in html
    assert 'name="then" value="job"' in html and 'name="q" value="acme"' in html
    settings.SANDBOX_RATE_500 = 0.0
    response = logged_in.post(f"/jobs/{CUSTOMERS}/chunks/rescan/", {"then": "job", "q": "acme"})
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{CUSTOMERS}/?q=acme"
    assert wait_for_scan(CUSTOMERS).state == "done"
    assert "Failures 1–" in logged_in.get(response["Location"]).content.decode()


def test_a_retry_from_the_filters_with_htmx_gets_the_filters_back(logged_in, settings):
    from dashboard.meteroid.gateway import get_gateway

    get_gateway().job(CUSTOMERS)
    settings.SANDBOX_RATE_500 = 1.0
    assert wait_for_scan(CUSTOMERS).state == "failed"
    settings.SANDBOX_RATE_500 = 0.0
    response = logged_in.post(f"/jobs/{CUSTOMERS}/chunks/rescan/", {"per_page": "50"}, **htmx("scan-filters"))
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="scan-filters"')


def test_a_plain_form_submission_lands_on_the_canonical_address(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?q=acme&chunk=&reason=&per_page=25")
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{CUSTOMERS}/?q=acme"
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?q=&chunk=&reason=&per_page=25")
    assert response["Location"] == f"/jobs/{CUSTOMERS}/"
    # Addresses that links make are kept as they are, and htmx requests are never redirected.
    assert logged_in.get(f"/jobs/{CUSTOMERS}/?page=2&per_page=50").status_code == 200
    assert logged_in.get(f"/jobs/{CUSTOMERS}/?q=&per_page=50", **htmx("failures")).status_code == 200


def test_the_account_of_a_job_that_runs_again_is_still_its_fragment(logged_in):
    # The account is asked for once an ended job's failed rows are read; a retry may have
    # reopened the job by then, and the answer must still be the fragment, not a whole page.
    from dashboard.sandbox.world.data import live_job_ids

    running = live_job_ids()[0]
    html = logged_in.get(f"/jobs/{running}/", **htmx("job-account")).content.decode()
    assert "<html" not in html and "<nav" not in html
    assert html.lstrip().startswith('<div id="job-account"')
