"""The files a sandbox job links to: its error CSV, its input CSV and an export's output,
behind signed tokens like Meteroid's, written as CSV a batch of rows at a time.

Pure functions: the key and the seed that sign tokens are arguments.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import re
from collections.abc import Iterable, Iterator

from dashboard.sandbox.world import data
from dashboard.sandbox.world.data import Job

FILE_KINDS = ("errors", "input", "output")
_ROWS_PER_WRITE = 500  # rows encoded per chunk of the response


def _secret(api_key: str, seed: int) -> bytes:
    # Derived from the API key and the seed: tokens die with a change of either, like
    # Meteroid's when a key is rotated, and need no secret of their own.
    return hashlib.sha256(f"meteroid-sandbox-files\x1f{api_key}\x1f{seed}".encode()).digest()


def file_token(kind: str, job_id: str, *, api_key: str, seed: int) -> str:
    """The token that opens file `kind` of job `job_id`."""
    digest = hmac.new(_secret(api_key, seed), f"{kind}\x1f{job_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_is_valid(token: str, kind: str, job_id: str, *, api_key: str, seed: int) -> bool:
    """Whether `token` opens file `kind` of job `job_id`."""
    if not token:
        return False
    expected = file_token(kind, job_id, api_key=api_key, seed=seed)
    return hmac.compare_digest(token.encode(), expected.encode())


def file_path(kind: str, job_id: str, *, api_key: str, seed: int) -> str:
    """The link a job detail carries, relative to the API's base URL, as Meteroid writes it."""
    return f"/files/v1/batch-job/{kind}/{job_id}?token={file_token(kind, job_id, api_key=api_key, seed=seed)}"


def has_file(job: Job, kind: str) -> bool:
    """Whether the job has file `kind` (at this instant: an error CSV is written at the end)."""
    if kind == "errors":
        return job.has_error_csv
    if kind == "input":
        return job.has_input_file
    return kind == "output" and job.has_output


def _safe(name: str) -> str:
    """A download name without markup, quotes, bidi controls or path separators."""
    name = re.sub(r"[^A-Za-z0-9._()\- ]+", "_", name)
    return re.sub(r"[_ ]{2,}", "_", name).strip(" ._")


def filename(job: Job, kind: str) -> str:
    """The name to save file `kind` of the job under."""
    if kind == "input" and job.plan.input_file_name:
        name = _safe(job.plan.input_file_name)
        if name:
            return name if name.lower().endswith(".csv") else f"{name}.csv"
    if kind == "output":
        return f"tax-report-{job.id}.csv"
    return f"{job.id}-{kind}.csv"


def rows(job: Job, kind: str) -> tuple[tuple[str, ...], Iterator[list[str]]]:
    """(header, rows) of file `kind` of the job."""
    if kind == "errors":
        return data.error_header(job), data.error_rows(job)
    if kind == "input":
        return data.input_header(job), data.input_rows(job)
    return data.output_header(job), data.output_rows(job)


def dialect(job: Job, kind: str) -> tuple[str, str]:
    """(delimiter, encoding) of file `kind`: the input as the user uploaded it; the errors
    CSV with the input's delimiter but in UTF-8, as Meteroid writes it; an output as CSV."""
    if kind == "input":
        return job.plan.delimiter, job.plan.encoding
    if kind == "errors":
        return job.plan.delimiter, "utf-8"
    return ",", "utf-8"


def content_type(encoding: str) -> str:
    return "text/csv; charset=" + ("windows-1252" if encoding == "cp1252" else encoding)


def csv_chunks(
    header: Iterable[str], rows_: Iterable[list[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Iterator[bytes]:
    """The CSV text of header and rows, in chunks of a few hundred rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    pending = 0
    for row in rows_:
        writer.writerow(row)
        pending += 1
        if pending == _ROWS_PER_WRITE:
            yield buffer.getvalue().encode(encoding)
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode(encoding)
