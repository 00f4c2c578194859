"""Hostile text from Meteroid's data (that is, from users' CSV files) on every page, fragment,
attribute and download: shown escaped and intact, never as markup, never breaking a page."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.conf import settings
from django.urls import resolve
from django.utils.http import content_disposition_header

from dashboard.failures.reasons import pattern_of
from dashboard.sandbox.world.data import SHOWCASE
from dashboard.sandbox.world.rows import HOSTILE_FILE_NAME, HOSTILE_VALUES
from dashboard.templatetags.dashboard_tags import visible
from dashboard.views.downloads import safe_filename
from tests.support.helpers import assert_problem_page, htmx, wait_for_scan
from tests.support.markup import attribute_values, audit, links, texts
from tests.support.upstream import CHUNKS, JOB, JOBS_PATH, Reply, detail_json, failure_json, failures_path

pytestmark = pytest.mark.django_db

HUGE = "Failed to parse row: " + "x" * 100_000 + " END"
HOSTILE = [
    "<script>alert(1)</script>",
    "</td></tr></table><script>alert(2)</script>",
    '"><img src=x onerror=alert(3)>',
    "' onmouseover='alert(4)",
    "`${alert(5)}`",
    "javascript:alert(6)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==",
    "{{ request.user }} {% debug %} {# c #}",
    "<!-- open comment",
    "]]><![CDATA[",
    "nul\x00byte",
    "bell\x07 escape\x1b[31m red delete\x7f",
    "line one\r\nline two\ttab",
    "invoice-\u202egpj.exe",
    "\u2066isolate\u2069 \u200fmark",
    "Café 🧾💥 Z\u0335\u0321a\u0334l\u0337g\u0336o ñ",
    "e\u0301\u0301\u0301 combining",
    "&amp; &lt;b&gt; already-escaped",
    HUGE,
]
HOSTILE_FILE = '"><svg onload=alert(1)> \u202ecsv.exe\x00 ../../etc/passwd {{x}}.csv'


@pytest.fixture
def hostile(meteroid):
    """The scripted Meteroid, with hostile reasons, identifiers, file names and enum values."""
    meteroid.contract = False  # a job type and a creator that no Meteroid sends, on purpose
    meteroid.failures[JOB] = [
        failure_json(
            i,
            reason=HOSTILE[i % len(HOSTILE)],
            item_identifier=None if i % 7 == 6 else HOSTILE[(i + 3) % len(HOSTILE)],
        )
        for i in range(120)
    ]
    meteroid.details[JOB] = detail_json(
        input_file_name=HOSTILE_FILE,
        created_by="<b>ops</b>",
        job_type="<img src=x onerror=alert(8)>",
        status="COMPLETED_WITH_ERRORS",
    )
    return meteroid


def _html(response) -> str:
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    assert audit(html) == []
    assert "Traceback" not in html
    return html


def _pages(client) -> dict[str, str]:
    wait_for_scan(JOB)
    pages = {
        "jobs list": client.get("/jobs/"),
        "jobs table": client.get("/jobs/", **htmx("jobs-table")),
        "job page": client.get(f"/jobs/{JOB}/?per_page=100"),
        "job page 2": client.get(f"/jobs/{JOB}/?per_page=100&page=2"),
        "failures fragment": client.get(f"/jobs/{JOB}/?per_page=100", **htmx("failures")),
        "summary fragment": client.get(f"/jobs/{JOB}/", **htmx("job-summary")),
        "chunk filter": client.get(f"/jobs/{JOB}/chunks/", **htmx("scan-filters")),
        "one chunk": client.get(f"/jobs/{JOB}/?chunk={CHUNKS[1]}&per_page=50"),
        "search": client.get(f"/jobs/{JOB}/?q=alert&per_page=100"),
        "reason group on the job page": client.get(f"/jobs/{JOB}/?reason={pattern_of(HOSTILE[1]).key}"),
        "reasons page": client.get(f"/jobs/{JOB}/reasons/"),
        "reasons fragment": client.get(f"/jobs/{JOB}/reasons/", **htmx("reasons")),
        "exact reasons": client.get(f"/jobs/{JOB}/reasons/{pattern_of(HOSTILE[2]).key}/"),
    }
    return {name: _html(response) for name, response in pages.items()}


def test_no_page_or_fragment_carries_markup_from_the_data(logged_in, hostile):
    for name, html in _pages(logged_in).items():
        for value in HOSTILE:
            # Only escaped: the raw text never appears where markup could start.
            if "<" in value or '"' in value:
                assert value not in html, (name, value[:40])
        assert not re.search(r"<(script|img|svg)\b[^>]*\balert", html), name


def test_every_reason_and_identifier_is_shown_intact(logged_in, hostile):
    pages = _pages(logged_in)
    shown = texts(pages["job page"]) + texts(pages["job page 2"])
    for value in HOSTILE:
        assert visible(value) in shown, value[:40]
    # The 100 kB reason in full, not cut.
    assert shown.count(" END") >= 1 and "x" * 100_000 in shown
    # Template syntax is text, not evaluated.
    assert "{{ request.user }} {% debug %} {# c #}" in shown
    assert "support" not in texts(pages["job page"]).split("Log out")[-1]


def test_control_characters_are_drawn_not_dropped(logged_in, hostile):
    html = _pages(logged_in)["job page"]
    assert "\x00" not in html and "\x1b" not in html and "\x07" not in html and "\x7f" not in html
    assert "nul␀byte" in html
    assert "bell␇ escape␛[31m red delete␡" in html


def test_the_file_name_and_unknown_type_are_escaped_and_isolated(logged_in, hostile):
    pages = _pages(logged_in)
    for name in ("jobs list", "job page", "summary fragment"):
        assert visible(HOSTILE_FILE) in texts(pages[name]), name
        assert "<svg onload" not in pages[name]
    # A right-to-left override in the name cannot reorder the text around it.
    assert re.search(r"<bdi class=\"file\">[^<]*csv\.exe", pages["job page"])
    assert "&lt;img src=x onerror=alert(8)&gt;" in pages["job page"]


def _options(html: str, select_id: str) -> list[str]:
    """The values of a <select>'s options, in order, as a browser reads them."""
    body = html[html.index(f'<select id="{select_id}"') :]
    return attribute_values(body[: body.index("</select>")], "value")


def test_the_chunk_and_reason_filters_stay_well_formed(logged_in, hostile):
    html = _pages(logged_in)["chunk filter"]
    assert _options(html, "chunk") == ["", *CHUNKS]  # all chunks, and the three that have failures
    keys = _options(html, "reason")
    assert keys[0] == "" and len(keys) == len(HOSTILE) + 1
    assert set(keys[1:]) == {pattern_of(reason).key for reason in HOSTILE}


POSTED = {"job-refresh", "job-rescan", "logout"}  # forms that post, not links to follow


def test_every_link_on_the_job_page_stays_well_formed_and_leads_somewhere(logged_in, hostile):
    html = _pages(logged_in)["job page"]
    keys = {pattern_of(reason).key for reason in HOSTILE}
    followed = {}
    for link in links(html, f"/jobs/{JOB}/"):
        parts = urlsplit(link)
        if parts.path.startswith(settings.STATIC_URL):
            continue
        match = resolve(parts.path)  # a path of the dashboard, whatever the data held
        if match.kwargs.get("job_id") == JOB and match.url_name not in POSTED:
            followed[link] = match
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            assert name in {"chunk", "reason", "q", "page", "per_page", "row", "next"}, link
            if name == "chunk":
                assert value in CHUNKS, link
            elif name == "reason":
                assert value in keys, link
            elif name in {"page", "per_page", "row"}:
                assert value.isdigit(), link
    # Row links, pages, reason groups and downloads: each answers as a page or a file.
    assert len(followed) > 100
    for link, match in sorted(followed.items()):
        response = logged_in.get(link)
        if match.url_name == "job-rows-to-fix-csv":
            # This world's input file is two lines: its rows cannot line up, and the page says so.
            assert_problem_page(response, 502, "do not line up with Meteroid")
            continue
        assert response.status_code == 200, (link, response.status_code)
        if response.streaming:
            b"".join(response.streaming_content)


def test_download_names_are_safe_whatever_meteroid_calls_the_file(logged_in, hostile):
    hostile.files["input"] = Reply(
        200,
        b'alias\r\n=HYPERLINK("http://x")\r\n\x00\r\n',
        {"Content-Type": "text/html", "Content-Disposition": content_disposition_header(True, HOSTILE_FILE)},
    )
    response = logged_in.get(f"/jobs/{JOB}/files/input/")
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    name = re.fullmatch(r'attachment; filename="([A-Za-z0-9._-]+)"', disposition)
    assert name, disposition
    assert ".." not in name[1] and not name[1].startswith(".")
    # HTML from Meteroid is served as bytes to save, never as a page of the dashboard.
    assert response["Content-Type"] == "application/octet-stream"
    # The file itself arrives byte for byte: it is Meteroid's, to fix and import again.
    assert b"".join(response.streaming_content) == b'alias\r\n=HYPERLINK("http://x")\r\n\x00\r\n'


@pytest.mark.parametrize(
    "name",
    [HOSTILE_FILE, HOSTILE_FILE_NAME, "..", "...", "/etc/passwd", "CON", "\u202e", "🧾.csv", "a" * 500, ""],
)
def test_safe_filename_keeps_only_plain_characters(name):
    safe = safe_filename(name, "fallback.csv")
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}", safe) or safe == "fallback.csv"


def test_meteroids_hostile_error_text_is_cleaned_in_the_message(logged_in, hostile):
    hostile.script(failures_path(), Reply(400, "<script>alert(9)</script>\x00\x1b[2J" + "y" * 5000))
    response = logged_in.get(f"/jobs/{JOB}/?page=2", **htmx("failures"))
    html = response.content.decode()
    assert response.status_code == 400
    assert audit(html) == []
    assert "&lt;script&gt;alert(9)&lt;/script&gt;" in html
    assert "\x00" not in html and "\x1b" not in html
    assert "y" * 400 not in html  # cut to a readable length


def test_a_job_list_with_ids_that_are_not_job_ids_still_renders(logged_in, hostile):
    odd = [
        {k: v for k, v in detail_json(job_id).items() if k in detail_json()}
        for job_id in ("<script>alert(1)</script>", "a/b", "..", "bjob_ok0000000000000000000")
    ]
    listing = {
        "data": odd,
        "pagination_meta": {"page": 0, "per_page": 25, "total_items": 4, "total_pages": 1},
    }
    hostile.script(JOBS_PATH, Reply(200, listing, contract=False))
    html = _html(logged_in.get("/jobs/"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="/jobs/bjob_ok0000000000000000000/"' in html


def test_the_sandbox_hostile_job_shows_its_text_intact_everywhere(logged_in):
    job = SHOWCASE["hostile"]
    wait_for_scan(job)
    pages = {
        "page": logged_in.get(f"/jobs/{job}/?per_page=100"),
        "fragment": logged_in.get(f"/jobs/{job}/?per_page=100", **htmx("failures")),
        "summary": logged_in.get(f"/jobs/{job}/", **htmx("job-summary")),
        "chunks": logged_in.get(f"/jobs/{job}/chunks/", **htmx("scan-filters")),
        "list": logged_in.get("/jobs/?per_page=100"),
    }
    html = {name: _html(response) for name, response in pages.items()}
    shown = texts(html["page"])
    for value in HOSTILE_VALUES:
        assert visible(value).replace("\r\n", "\n") in shown.replace("\r\n", "\n"), value[:40]
    assert visible(HOSTILE_FILE_NAME) in texts(html["summary"])
    errors = logged_in.get(f"/jobs/{job}/files/errors/")
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+"', errors["Content-Disposition"])
    rows = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode("utf-8-sig"))))
    assert any("<script>alert(1)</script>" in cell for row in rows for cell in row)
