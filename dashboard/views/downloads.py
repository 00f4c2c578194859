"""A job's files (errors CSV, input file, output file), streamed through the dashboard.

Meteroid's file links carry signed tokens: the browser never sees them, only this URL.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from dashboard.meteroid import deadline
from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.meteroid.gateway import get_gateway
from dashboard.views.loading import load_job
from dashboard.views.responses import not_found, streamed_download, upstream_problem

FILE_KINDS = {
    "errors": "errors CSV",
    "input": "input file",
    "output": "output file",
}


# Content types passed on as Meteroid sent them; anything else (text/html, say) is served as
# opaque bytes, so that a file can never run as a page of the dashboard's origin.
PASSED_TYPES = {
    "text/csv",
    "application/pdf",
    "application/zip",
    "application/json",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def safe_content_type(value: str | None) -> str:
    media = (value or "").split(";")[0].strip().lower()
    if media == "text/csv":
        return "text/csv; charset=utf-8"
    return media if media in PASSED_TYPES else "application/octet-stream"


def safe_filename(name: str, fallback: str) -> str:
    """A file name that is harmless in any browser and file system: ASCII letters, digits,
    dot, dash and underscore, no leading dot, no run of dots, at most 120 characters."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    cleaned = re.sub(r"[._]*\.[._]*", ".", cleaned)  # "_.._" or "..": one dot
    cleaned = re.sub(r"_{2,}", "_", cleaned).strip("._-")[:120].rstrip("._-")
    return cleaned or fallback


def _url_and_name(job, kind: str) -> tuple[str | None, str]:
    if kind == "errors":
        return (job.error_csv_url if job.has_error_csv else None), f"{job.id}-errors.csv"
    if kind == "input":
        name = safe_filename(job.input_file_name or "", f"{job.id}-input.csv")
        return job.input_file_url, name
    return (job.output_url if job.has_output else None), f"{job.id}-output.csv"


@require_GET
# A download reads much more than a page, on the client's own timeouts and retries.
@deadline.lifted()
def job_file(request: HttpRequest, job_id: str, kind: str) -> HttpResponse:
    if kind not in FILE_KINDS:
        return not_found(request, "There is no such file.", [f"Files of a job are: {', '.join(FILE_KINDS)}."])
    job = load_job(job_id)
    url, filename = _url_and_name(job, kind)
    if not url:
        return not_found(request, f"This job has no {FILE_KINDS[kind]}.")
    try:
        download = get_gateway().open_file(url, default_filename=filename)
    except MeteroidError as error:
        if error.kind is ErrorKind.NOT_FOUND:  # the file, not the job: say so
            return not_found(request, error.message)
        return upstream_problem(request, error)
    response = streamed_download(
        download.iter_chunks(64 * 1024),
        what=f"{FILE_KINDS[kind]} of {job.id}",
        filename=filename,
        content_type=safe_content_type(download.content_type),
        close=download.close,
    )
    if download.length is not None:
        response["Content-Length"] = str(download.length)
    return response
