"""Reason counts follow the chosen chunk, or say that they are the whole job's."""

from __future__ import annotations

import re

import pytest

from dashboard.index.reading import JobFailures
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import htmx, wait_for_scan

pytestmark = pytest.mark.django_db

CUSTOMERS = SHOWCASE["customers"]


def _chunk_with_several_reasons(job: str) -> tuple[str, int]:
    status = wait_for_scan(job)
    analysis = JobFailures(status.index)
    chunks = [c for c in status.result.chunks if len(analysis.grouping_for(c.chunk_id).groups) > 1]
    chunk = max(chunks, key=lambda c: c.failures)
    return chunk.chunk_id, chunk.failures


def _option_counts(html: str) -> list[int]:
    select = html[html.index('<select id="reason"') :]
    select = select[: select.index("</select>")]
    return [
        int(n.replace(",", ""))
        for n in re.findall(r"<option value=\"[^\"]+\"[^>]*>.*? · ([\d,]+)</option>", select)
    ]


def _summary_counts(html: str) -> list[int]:
    region = html[html.index('id="reason-summary"') :]
    region = region[: region.index("</section>")]
    return [
        int(n.replace(",", ""))
        for n in re.findall(r'<span class="num">([\d,]+) <span class="muted">', region)
    ]


def test_with_a_chunk_chosen_the_reason_counts_are_the_chunks(logged_in):
    chunk, failures = _chunk_with_several_reasons(CUSTOMERS)
    whole = logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode()
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?chunk={chunk}").content.decode()
    assert sum(_option_counts(html)) == failures
    assert sum(_option_counts(whole)) > failures
    assert "All reasons in this chunk (" in html
    assert "Most common reasons in this chunk" in html
    assert all(n <= failures for n in _summary_counts(html))
    # The summary's links keep the chunk.
    assert f"?chunk={chunk}&amp;reason=" in html


def test_the_polled_filters_and_summary_count_within_the_chunk_too(logged_in):
    chunk, failures = _chunk_with_several_reasons(CUSTOMERS)
    filters = logged_in.get(
        f"/jobs/{CUSTOMERS}/chunks/?chunk={chunk}", **htmx("scan-filters")
    ).content.decode()
    assert sum(_option_counts(filters)) == failures
    summary = logged_in.get(f"/jobs/{CUSTOMERS}/?chunk={chunk}", **htmx("reason-summary")).content.decode()
    assert "Most common reasons in this chunk" in summary
    assert all(n <= failures for n in _summary_counts(summary))


def test_without_a_chunk_nothing_changes(logged_in):
    wait_for_scan(CUSTOMERS)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode()
    assert "Most common reasons</h2>" in html
    assert "in this chunk" not in html and "in the whole job" not in html


def test_choosing_a_chunk_brings_its_reason_counts_with_the_table(logged_in):
    chunk, failures = _chunk_with_several_reasons(CUSTOMERS)
    headers = {**htmx("failures"), "HTTP_HX_CURRENT_URL": f"http://testserver/jobs/{CUSTOMERS}/"}
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?chunk={chunk}", **headers).content.decode()
    assert '<section id="failures"' in html
    assert (
        'id="reason-summary" class="reason-summary" aria-labelledby="reason-summary-title" hx-swap-oob="true"'
        in html
    )
    assert "Most common reasons in this chunk" in html
    oob = html[html.index('<select id="reason" name="reason" hx-swap-oob="true">') :]
    assert sum(_option_counts(oob)) == failures
    # Paging within the same chunk carries none of it.
    headers["HTTP_HX_CURRENT_URL"] = f"http://testserver/jobs/{CUSTOMERS}/?chunk={chunk}"
    page = logged_in.get(f"/jobs/{CUSTOMERS}/?chunk={chunk}", **headers).content.decode()
    assert 'id="reason-summary"' not in page and '<select id="reason"' not in page
    # Back to the whole job: the whole job's counts come back.
    back = logged_in.get(f"/jobs/{CUSTOMERS}/", **headers).content.decode()
    assert (
        '<select id="reason" name="reason" hx-swap-oob="true">' in back and "Most common reasons</h2>" in back
    )
