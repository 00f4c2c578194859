"""The dashboard as production serves it (gunicorn, gthread) in front of a scripted Meteroid
(tests/support/upstream.py), seen by real HTTP clients: a Meteroid that sleeps 40 s, and exports that
Meteroid fails before or after their first byte.

- A page answers within the deadline (8 s by default) plus a second however many ask at
  once, and the log shows that the retries stopped at the deadline.
- An export that fails before its first byte is a page (502/503) that says what happened; one
  that fails after it is aborted: the response ends without its last chunk, so `requests` and
  `curl` report a failed transfer instead of a whole-looking file, and the log says which
  export stopped and why.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.server import Dashboard, prepare
from tests.support.paths import ROOT
from tests.support.upstream import FAKE_KEY, FakeMeteroid, Reply, detail_json, failure_json, failures_path

DEADLINE = 8.0  # METEROID_REQUEST_DEADLINE_SECONDS's default: the gunicorn below sets none
SLACK = 1.0


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMeteroid]:
    fake = FakeMeteroid()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, fake: FakeMeteroid) -> Iterator[Dashboard]:
    setup = prepare(tmp_path_factory.mktemp("served"))
    dashboard = Dashboard(
        setup, name="served", METEROID_API_KEY=FAKE_KEY, METEROID_BASE_URL=fake.base_url, LOG_LEVEL="INFO"
    ).start()
    dashboard.username, dashboard.password = setup.username, setup.password  # type: ignore[attr-defined]
    # The worker that reads the jobs' failures into the index, as production runs it beside.
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "index_worker", "--interval", "0.1"],
        cwd=ROOT,
        env={**setup.env, **dashboard.extra_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield dashboard
    worker.terminate()
    worker.wait(timeout=30)
    dashboard.stop()


@pytest.fixture(autouse=True)
def _heal(fake: FakeMeteroid) -> Iterator[None]:
    files = dict(fake.files)
    yield
    fake.heal()
    fake.files = files


@pytest.fixture
def session(served: Dashboard) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{served.url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token
    response = session.post(
        f"{served.url}/accounts/login/",
        data={
            "username": served.username,  # type: ignore[attr-defined]
            "password": served.password,  # type: ignore[attr-defined]
            "csrfmiddlewaretoken": token[1],
        },
        headers={"Referer": f"{served.url}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    return session


def add_job(fake: FakeMeteroid, job_id: str, failures: int) -> None:
    """A terminal job of the scripted Meteroid with `failures` failures, one per row."""
    fake.details[job_id] = detail_json(
        job_id, total_items=failures, processed_items=failures, failed_items=failures, failure_count=failures
    )
    fake.failures[job_id] = [failure_json(i) for i in range(failures)]


def with_empty_pages(fake: FakeMeteroid, job_id: str, offsets: range) -> None:
    """The job's failure pages at these offsets come back empty, under the same total."""

    def answer(query: dict[str, list[str]]) -> Reply:
        if int(query.get("offset", ["0"])[0]) in offsets:
            return Reply(200, {"data": [], "total_count": len(fake.failures[job_id])})
        return fake._failures(job_id, query)

    fake.script(failures_path(job_id), answer)


def server_log(served: Dashboard) -> str:
    return served.log_path.read_text(errors="replace")


def wait_for_log(served: Dashboard, needle: str, timeout: float = 5.0) -> str:
    """The server's log once it holds `needle` (its lines are written as the request ends)."""
    stop = time.monotonic() + timeout
    while needle not in (log := server_log(served)):
        if time.monotonic() > stop:
            raise AssertionError(f"{needle!r} not in the server's log:\n{log[-3000:]}")
        time.sleep(0.05)
    return log


# --- a slow Meteroid -------------------------------------------------------------------------


def test_a_page_answers_within_the_deadline_when_meteroid_sleeps_40_s(served, fake, session):
    job = "bjob_Served000000000000slow"
    add_job(fake, job, 120)
    fake.script(failures_path(job), Reply(200, {"data": [], "total_count": 0}, delay=40))
    timings: list[tuple[int, float, str]] = []

    def ask() -> None:
        started = time.monotonic()
        response = session.get(f"{served.url}/jobs/{job}/", timeout=60)
        timings.append((response.status_code, time.monotonic() - started, response.text))

    # Three people at once: one asks Meteroid, two wait on its answer, none past the deadline.
    askers = [threading.Thread(target=ask) for _ in range(3)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join(60)

    assert len(timings) == 3
    for status, seconds, body in timings:
        assert seconds < DEADLINE + SLACK, seconds
        assert status == 503
        assert "Meteroid is slow" in body and job in body and 'hx-trigger="load delay:' in body
    log = wait_for_log(served, f"{failures_path(job)} -> ")
    calls = re.findall(
        rf"Meteroid GET {re.escape(failures_path(job))} -> (\w+) in (\d+) ms \((\d+) retries\)", log
    )
    # The page's one call: cut at the deadline, with no retry (one more would only time out).
    assert calls and all(int(ms) < (DEADLINE + SLACK) * 1000 for _, ms, _ in calls)
    assert f"{failures_path(job)}: no retry" in log and "deadline" in log


# --- exports cut short -----------------------------------------------------------------------


def test_a_failures_csv_that_fails_before_its_first_byte_is_a_page(served, fake, session):
    # Meteroid announces 300 failures, and offsets 100..199 come back empty.
    job = "bjob_Served00000000000holes"
    add_job(fake, job, 300)
    with_empty_pages(fake, job, range(100, 200))

    response = session.get(f"{served.url}/jobs/{job}/failures.csv", timeout=30)

    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert (
        "Meteroid sent 0 of the 100 failures expected from row 101 on, of the 300 it announced"
        in response.text
    )
    assert "Try again" in response.text


def test_a_failures_csv_that_fails_after_its_first_byte_is_aborted(served, fake, session, tmp_path):
    # The first 1,000 rows go out before Meteroid's pages from 2,000 on come back empty.
    job = "bjob_Served0000000000000cut"
    add_job(fake, job, 3000)
    with_empty_pages(fake, job, range(2000, 3000))
    url = f"{served.url}/jobs/{job}/failures.csv"

    received = assert_aborted(session, url)
    assert received.startswith("\ufeffrow,identifier,reason")
    assert_curl_fails(session, url, tmp_path)
    log = wait_for_log(served, f"failures CSV of {job} aborted")
    assert "Meteroid sent 0 of the 100 failures expected from row 2,001 on, of the 3,000 it announced" in log


def test_rows_to_fix_that_fail_after_their_first_byte_are_aborted(served, fake, session, tmp_path):
    job = "bjob_Served000000000000rows"
    add_job(fake, job, 3000)
    notes = "n" * 200  # rows of 200-odd bytes: the file is read 64 kB at a time
    body = "alias,name\r\n" + "".join(f"cus_{i:05d},{notes}\r\n" for i in range(3000))
    # The input file breaks off at row 2,500: well after the first 1,000 rows have gone out.
    cut = body.index("cus_02500")
    fake.files["input"] = Reply(200, body.encode(), {"Content-Type": "text/csv"}, cut_after=cut)
    url = f"{served.url}/jobs/{job}/rows-to-fix.csv"

    received = assert_aborted(session, url)
    assert received.startswith("alias,name,_error\r\ncus_00000,")
    assert_curl_fails(session, url, tmp_path)
    log = wait_for_log(served, f"rows to fix of {job} aborted")
    assert "broke before it finished answering" in log


def test_rows_to_fix_that_fail_before_their_first_byte_are_a_page(served, fake, session):
    job = "bjob_Served00000000rowspage"
    add_job(fake, job, 20)
    fake.files["input"] = Reply(503, "<html>down for maintenance</html>", {"Content-Type": "text/html"})

    response = session.get(f"{served.url}/jobs/{job}/rows-to-fix.csv", timeout=60)

    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Meteroid is unavailable right now" in response.text


def test_a_reasons_csv_before_the_failures_are_read_is_a_page(served, fake, session):
    job = "bjob_Served00000reasonspage"
    add_job(fake, job, 300)
    with_empty_pages(fake, job, range(100, 200))  # the scan fails: its groups never come

    response = session.get(f"{served.url}/jobs/{job}/reasons.csv", timeout=60)

    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Reading every failure of this job failed" in response.text and "Try again" in response.text


def test_a_whole_export_ends_with_its_last_chunk(served, fake, session, tmp_path):
    job = "bjob_Served00000000000whole"
    add_job(fake, job, 2500)
    url = f"{served.url}/jobs/{job}/failures.csv"

    with session.get(url, stream=True, timeout=60) as response:
        assert response.headers.get("Transfer-Encoding") == "chunked"
        text = b"".join(response.iter_content(64 * 1024)).decode()
    assert text.count("\r\n") == 2501
    if shutil.which("curl"):
        assert curl(session, url, tmp_path).returncode == 0


def assert_aborted(session: requests.Session, url: str) -> str:
    """Download `url` as a browser would; it must start (200, chunked) and then fail."""
    received: list[bytes] = []
    with session.get(url, stream=True, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers.get("Transfer-Encoding") == "chunked"
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            received.extend(response.iter_content(64 * 1024))
    assert received, "the download never began"
    return b"".join(received).decode("utf-8", "replace")


def curl(session: requests.Session, url: str, tmp_path) -> subprocess.CompletedProcess:
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    return subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--fail",
            "-H",
            f"Cookie: {cookie}",
            "-o",
            str(tmp_path / "out.csv"),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_curl_fails(session: requests.Session, url: str, tmp_path) -> None:
    if not shutil.which("curl"):
        return
    result = curl(session, url, tmp_path)
    # 18: "partial file"; 56: "failure in receiving network data" (a chunked body cut off).
    assert result.returncode in (18, 56), (result.returncode, result.stderr)
