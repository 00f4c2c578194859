"""The reasons page, a group's exact reasons, and the reasons CSV, through the gateway to the sandbox."""

from __future__ import annotations

import csv
import io
import re

import pytest

from dashboard.failures.exports import FORMULA_STARTS
from dashboard.index.reading import JobFailures
from dashboard.meteroid.gateway import get_gateway
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import htmx, wait_for_scan
from tests.support.index_reading import WorkerMeanwhile, job_failures

pytestmark = pytest.mark.django_db

CUSTOMERS = SHOWCASE["customers"]
SUBSCRIPTIONS = SHOWCASE["subscriptions"]
HOSTILE = SHOWCASE["hostile"]


def _analysis(job_id: str) -> JobFailures:
    return job_failures(job_id)


def _group_rows(html: str) -> list[tuple[str, int]]:
    """(group key, count) of each group row of the reasons table."""
    return [
        (key, int(count.replace(",", "")))
        for key, count in re.findall(
            r'<tr id="group-([0-9a-f]{12})">.*?<td class="num">([\d,]+)</td>', html, re.S
        )
    ]


def test_the_reasons_page_lists_every_group_largest_first_and_they_add_up(logged_in):
    analysis = _analysis(SUBSCRIPTIONS)
    response = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/reasons/")
    html = response.content.decode()
    assert response.status_code == 200
    rows = _group_rows(html)
    assert [key for key, _ in rows] == [g.key for g in analysis.grouping.groups]
    counts = [count for _, count in rows]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == get_gateway().job(SUBSCRIPTIONS).failure_count
    # The largest group here: plans without a published version, masked to one pattern.
    assert "No published version <mark" in html
    assert f"{len(rows)} patterns" in html


def test_each_group_shows_share_values_rows_chunks_examples_and_a_drill_down(logged_in):
    analysis = _analysis(SUBSCRIPTIONS)
    top = analysis.grouping.groups[0]
    html = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/reasons/").content.decode()
    row = html[html.index(f'<tr id="group-{top.key}">') :]
    row = row[: row.index("</tr>")]
    assert f'href="/jobs/{SUBSCRIPTIONS}/?reason={top.key}"' in row
    assert f'<rect width="{100 * top.share:.2f}" height="10">' in row
    assert "plan id" in row and "version" in row  # the masked slots, by name
    first_rows = top.positions.row_ranges()[0]
    assert f"rows {first_rows}" in row
    example = top.examples[0]
    assert f"?row={example.row_number}#row-{example.row_number}" in row
    assert f"{top.distinct} exact reason" in row
    assert f'hx-get="/jobs/{SUBSCRIPTIONS}/reasons/{top.key}/"' in row


def test_the_chart_is_an_svg_drawn_on_the_server(logged_in):
    _analysis(CUSTOMERS)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/reasons/").content.decode()
    chart = html[html.index('<figure class="reason-chart"') : html.index("</figure>")]
    widths = re.findall(r'<rect width="([\d.]+)" height="10">', chart)
    assert widths and widths[0] == "100.00"
    assert [float(w) for w in widths[:-1]] == sorted((float(w) for w in widths[:-1]), reverse=True)
    assert " style=" not in html and "<script>" not in html


def test_htmx_gets_only_the_groups(logged_in):
    _analysis(CUSTOMERS)
    response = logged_in.get(f"/jobs/{CUSTOMERS}/reasons/", **htmx("reasons"))
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="reasons"')
    assert "<html" not in html and "reasons-head" not in html
    assert _group_rows(html)


def test_one_chunks_groups_have_shares_of_that_chunk(logged_in):
    status = wait_for_scan(CUSTOMERS)
    chunk = max(status.result.chunks, key=lambda c: c.failures)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/reasons/?chunk={chunk.chunk_id}").content.decode()
    assert sum(count for _, count in _group_rows(html)) == chunk.failures
    assert f"{chunk.failures} failure" in html
    assert f'value="{chunk.chunk_id}" selected' in html
    # Drill-down links keep the chunk.
    assert f"?chunk={chunk.chunk_id}&amp;reason=" in html


def test_the_page_shows_progress_until_the_scan_is_done(logged_in):
    html = logged_in.get(f"/jobs/{SHOWCASE['events']}/reasons/").content.decode()
    assert "Reading every failure of this job to group the reasons" in html
    assert 'hx-trigger="load delay:1s"' in html
    assert "<table" not in html
    # Numbers in attributes are never written with thousands separators.
    assert re.search(r'<progress max="\d+" value="\d+"', html)


def test_a_groups_exact_reasons_page_and_fragment(logged_in):
    analysis = _analysis(SUBSCRIPTIONS)
    top = analysis.grouping.groups[0]
    page = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/reasons/{top.key}/").content.decode()
    counts = [int(n.replace(",", "")) for n in re.findall(r'<tr><td class="num">([\d,]+)</td>', page)]
    assert counts == [count for _, count in top.exact][: len(counts)]
    if top.distinct <= 50:
        assert sum(counts) == top.count
    assert "Show these failures" in page
    fragment = logged_in.get(
        f"/jobs/{SUBSCRIPTIONS}/reasons/{top.key}/", **htmx(f"exact-{top.key}")
    ).content.decode()
    assert fragment.lstrip().startswith('<table class="exact-reasons">')
    assert "<html" not in fragment
    exact, _ = top.exact[0]
    assert f"q={exact.replace(' ', '+').replace("'", '%27')}" in fragment


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        (f"/jobs/{CUSTOMERS}/reasons/000000000000/", 404, "This job has no such reason group."),
        (f"/jobs/{CUSTOMERS}/reasons/?chunk=bjch_0000000000000000000000", 404, "no failures in that chunk"),
        (f"/jobs/{CUSTOMERS}/reasons/?chunk=nonsense", 400, "chunk:"),
        (f"/jobs/{CUSTOMERS}/reasons/?page=99", 404, "There is no page 99"),
        ("/jobs/bjob_0000000000000000000000/reasons/", 404, "No such batch job."),
    ],
)
def test_bad_addresses_get_a_clear_page(logged_in, path, status, text):
    wait_for_scan(CUSTOMERS)
    response = logged_in.get(path)
    assert response.status_code == status
    assert text in response.content.decode()


def _read_csv(response) -> list[list[str]]:
    data = b"".join(response.streaming_content).decode("utf-8")
    assert data.startswith("\ufeff")
    return list(csv.reader(io.StringIO(data[1:], newline="")))


def test_the_reasons_csv_has_one_line_per_group_that_adds_up(logged_in):
    analysis = _analysis(SUBSCRIPTIONS)
    response = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/reasons.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{SUBSCRIPTIONS}-reasons.csv"'
    header, *rows = _read_csv(response)
    assert header[:4] == ["pattern", "failures", "share_percent", "exact_reasons"]
    assert [row[0] for row in rows] == [g.template.text for g in analysis.grouping.groups]
    assert sum(int(row[1]) for row in rows) == analysis.grouping.total
    assert sum(float(row[2]) for row in rows) == pytest.approx(100, abs=0.1)
    top = rows[0]
    named = dict(zip(header, top, strict=True))
    assert named["rows"].startswith(str(analysis.grouping.groups[0].positions.row_ranges()[0]))
    assert "plan id: plan_" in named["top_values"]
    assert named["link"] == f"http://testserver/jobs/{SUBSCRIPTIONS}/?reason={named['reason_group']}"
    assert int(named["sample_row"]) == analysis.grouping.groups[0].examples[0].row_number


def test_the_reasons_csv_of_the_hostile_job_runs_no_formula(logged_in):
    _analysis(HOSTILE)
    _, *rows = _read_csv(logged_in.get(f"/jobs/{HOSTILE}/reasons.csv"))
    cells = [cell for row in rows for cell in row]
    assert any(cell.startswith(("'=HYPERLINK", "'+")) for cell in cells)
    for cell in cells:
        assert cell.lstrip(" ")[:1] not in FORMULA_STARTS, cell


def test_the_reasons_csv_of_a_chunk(logged_in):
    status = wait_for_scan(CUSTOMERS)
    chunk = status.result.chunks[0]
    response = logged_in.get(f"/jobs/{CUSTOMERS}/reasons.csv?chunk={chunk.chunk_id}")
    assert f"-reasons-chunk-{chunk.chunk_id}.csv" in response["Content-Disposition"]
    _, *rows = _read_csv(response)
    assert sum(int(row[1]) for row in rows) == chunk.failures
    assert all(f"chunk={chunk.chunk_id}&reason=" in row[-1] for row in rows)


def test_the_reasons_csv_waits_a_little_for_a_running_scan(logged_in, monkeypatch):
    from dashboard.index import status

    worker = WorkerMeanwhile()
    monkeypatch.setattr(status, "time", worker)
    response = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/reasons.csv")
    assert response.status_code == 200
    assert worker.sleeps >= 1, "the index was asked for by the download itself, and waited for"
    assert sum(int(row[1]) for row in _read_csv(response)[1:]) == 303


def test_the_reasons_csv_says_when_the_scan_takes_longer(logged_in, monkeypatch):
    monkeypatch.setattr("dashboard.views.reasons.CSV_WAIT_SECONDS", 0.2)  # and no worker publishes it
    response = logged_in.get(f"/jobs/{SHOWCASE['events']}/reasons.csv")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    html = response.content.decode()
    assert "This file is not ready yet" in html
    assert '<meta http-equiv="refresh" content="3">' in html


def test_a_capped_scan_says_plainly_what_the_groups_cover(logged_in, settings):
    settings.SCAN_MAX_FAILURES = 100
    status = wait_for_scan(CUSTOMERS)
    assert status.result.capped and status.result.scanned == 100
    html = logged_in.get(f"/jobs/{CUSTOMERS}/reasons/").content.decode()
    assert "Grouping covers the first 100 of the job's 313 failures only" in html
    assert sum(count for _, count in _group_rows(html)) == 100
    page = logged_in.get(f"/jobs/{CUSTOMERS}/?q=a").content.decode()
    assert "Among the first 100 of the job's 313 failures only" in page


def test_a_running_jobs_groups_are_provisional_and_refresh(logged_in):
    job = SHOWCASE["processing"]
    assert wait_for_scan(job).state == "done"
    html = logged_in.get(f"/jobs/{job}/reasons/").content.decode()
    assert "Provisional: the job is still running" in html
    assert 'hx-trigger="every 5s"' in html


def test_hostile_text_on_the_reasons_pages_is_escaped(logged_in):
    analysis = _analysis(HOSTILE)
    pages = [logged_in.get(f"/jobs/{HOSTILE}/reasons/").content.decode()]
    pages += [
        logged_in.get(f"/jobs/{HOSTILE}/reasons/{g.key}/").content.decode() for g in analysis.grouping.groups
    ]
    html = "".join(pages)
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and ">49<" not in html


def test_a_plain_chunk_form_lands_on_the_canonical_address(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/reasons/?chunk=")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{CUSTOMERS}/reasons/"
