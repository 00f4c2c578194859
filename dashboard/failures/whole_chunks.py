"""The rows of whole failed chunks, recovered from Meteroid's errors CSV.

A chunk that exhausts its retries is failed as a whole: `failed_items` counts its rows, but
Meteroid records no failure for them, so the REST API never lists them. Its errors CSV holds
them, though: every row of such a chunk, with the chunk's last error in `_error`.

Which rows are they? The errors CSV gives no row numbers, and its place in it is no sure
guide: it also holds the rows that have failure records (several reasons joined by `; `),
and leaves out every input row that does not parse as CSV, so counting places against the
chunk size goes wrong at the first such row. The rows are matched against the input file
instead, both read once, in step: the errors CSV is the input's failed rows in file order, so
each of its rows is the next input row that holds the same cells. An input row with failure
records must be the next errors row; one without is the row of a whole failed chunk when it
is the next errors row, and then every other readable row of its chunk must be too. Anything
else (a row missing, a chunk half there, rows left over) means the two files do not tell one
story, and nothing is recovered rather than rows with the wrong numbers.

Pure: the files come in as records (`dashboard.failures.csv_files`), the failure records as row indices.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from dataclasses import dataclass

from dashboard.failures.chunks import WHOLE_CHUNK_PREFIX
from dashboard.failures.csv_files import ERROR_COLUMN, Record, is_legacy, readable
from dashboard.meteroid.pickling import PickledByFields
from dashboard.meteroid.records import JobDetail

# What the rows of a whole failed chunk give as their reason: their own pattern, apart from any
# failure record's, with the chunk's error (as Meteroid wrote it in the errors CSV) after it.
WHOLE_CHUNK_REASON = "Chunk failed as a whole: "
CHUNK_ERRORS_KEPT = 5  # distinct errors of whole failed chunks an index names


def reads_chunk_rows(job: JobDetail) -> bool:
    """Whether a scan of the job reads rows of whole failed chunks from its errors CSV: once
    it has ended (the errors CSV is written then) with rows that no failure record holds."""
    return job.is_terminal and job.rows_without_detail > 0 and job.has_error_csv


# The column that identifies a row, by job type, as Meteroid's processors name it in failure
# records (`item_identifier`); the first one that has a value.
IDENTIFIER_COLUMNS = {
    "CUSTOMER_CSV_IMPORT": ("alias",),
    "EVENT_CSV_IMPORT": ("event_id", "id"),
    "SUBSCRIPTION_CSV_IMPORT": ("customer_alias", "customer_id"),
}
CHUNK_FAILED = "Chunk failed"  # Meteroid's message for a chunk whose error was not kept


class NotRecovered(Exception):
    """The errors CSV cannot be read, or does not line up with the input file."""


@dataclass(frozen=True, slots=True)
class FailedChunk(PickledByFields):
    """One chunk that failed as a whole, as its rows in the errors CSV show it."""

    first_index: int  # 0-based first row the chunk covers
    last_index: int  # 0-based last row the chunk covers
    rows: int  # its rows found in the errors CSV
    message: str  # its last error, as Meteroid wrote it in `_error`

    @property
    def key(self) -> str:
        """How links name the chunk: Meteroid gives it no id the dashboard can see."""
        return chunk_key(self.first_index, self.last_index)


@dataclass(frozen=True, slots=True)
class ChunkRows:
    """The rows of a job's whole failed chunks, in file order."""

    item_indices: list[int]
    identifiers: list[str | None]
    reasons: list[str]
    chunk_keys: list[str]  # per row, its chunk's key
    chunks: tuple[FailedChunk, ...]
    unreadable: int  # rows of those chunks that do not parse as CSV: the errors CSV has none

    def __len__(self) -> int:
        return len(self.item_indices)


def chunk_key(first_index: int, last_index: int) -> str:
    """`rows-51-100`: a whole failed chunk by its 1-based rows (chunk ids look like bjch_…)."""
    return f"{WHOLE_CHUNK_PREFIX}{first_index + 1}-{last_index + 1}"


@dataclass(frozen=True, slots=True)
class RowAccount:
    """A job's failed rows, by where the dashboard found them: failure records, rows of whole
    failed chunks read from the errors CSV, and the rest (lost), with why."""

    failed_items: int
    records: int
    chunk_rows: int
    failed_chunks: int
    lost: int
    reading: bool  # the rows of whole failed chunks are being read
    why: str  # why the lost rows are not shown ("" when none are lost, or while reading)


def account(
    *,
    failed_items: int,
    failure_count: int,
    is_terminal: bool,
    has_error_csv: bool,
    scan_state: str | None,
    chunk_rows: int = 0,
    failed_chunks: int = 0,
    unreadable: int = 0,
    problem: str = "",
    capped: bool = False,
) -> RowAccount:
    """Account for every failed row of a job, from the job and its scan (if any)."""
    lost = max(0, failed_items - failure_count - chunk_rows)
    reading, why = False, ""
    if not lost:
        pass
    elif not is_terminal:
        why = "the job is still running, and Meteroid writes the errors CSV that holds them when it ends."
    elif not has_error_csv:
        why = "Meteroid has written no errors CSV for this job, the only place that holds them."
    elif capped:
        why = "the job has more failures than the dashboard reads, so it does not read them."
    elif problem:
        why = f"the dashboard could not read them: {problem}"
    elif chunk_rows:
        parts = []
        if unreadable:
            parts.append(
                f"{unreadable:,} row{'s' if unreadable != 1 else ''} of those chunks "
                f"{'do' if unreadable != 1 else 'does'} not parse as CSV, and Meteroid leaves such "
                "rows out of its errors CSV"
            )
        if lost > unreadable:
            parts.append(f"{lost - unreadable:,} are in neither the failures nor the errors CSV")
        why = "; ".join(parts) + "."
    elif scan_state == "failed":
        why = "reading the job's failures failed (see below)."
    elif scan_state == "done":
        why = "Meteroid's errors CSV holds none of them."
    else:
        reading = True
    return RowAccount(failed_items, failure_count, chunk_rows, failed_chunks, lost, reading, why)


def recover(
    input_records: Iterator[Record],
    error_records: Iterator[Record],
    *,
    record_indices: Container[int],
    chunk_size: int,
    total_items: int | None,
    job_type: str,
) -> ChunkRows:
    """Match the errors CSV's rows to the input file's and keep those of whole failed chunks.

    `record_indices` holds the rows that have failure records. Reads the errors CSV to its
    end and the input only as far as the last errors row's chunk. Raises `NotRecovered`.
    """
    header = next(input_records, None)
    error_header = next(error_records, None)
    if header is None:
        raise NotRecovered("the input file is empty")
    if error_header is None:
        raise NotRecovered("the errors CSV is empty")
    columns = _cells(header)
    if _cells(error_header) != [*columns, ERROR_COLUMN]:
        raise NotRecovered("the errors CSV's header is not the input file's header with _error added")
    width = len(columns)
    identify = _identifier_columns(columns, job_type)

    indices: list[int] = []
    identifiers: list[str | None] = []
    reasons: list[str] = []
    keys: list[str] = []
    chunks: list[FailedChunk] = []
    unreadable_in: dict[int, int] = {}  # chunk number -> rows that do not parse
    current: int | None = None  # the whole failed chunk being matched, by number
    # Readable rows without failure records that the errors CSV does not hold, in the chunk
    # being read: a chunk with any such row before its first match did not fail as a whole.
    passed_chunk, passed = -1, 0
    wanted = _next_error(error_records, width)
    last = -1
    for index, record in enumerate(input_records):
        last = index
        k = index // chunk_size
        if wanted is None and current != k:
            break  # every errors row matched, and no failed chunk is left half read
        if len(record.cells) != width:
            # Meteroid's reader cannot read such a row, and leaves it out of the errors CSV.
            unreadable_in[k] = unreadable_in.get(k, 0) + 1
            continue
        cells = _cells(record)
        matches = wanted is not None and cells == wanted[0]
        if index in record_indices:
            if not matches:
                raise NotRecovered(
                    f"row {index + 1:,} has failure records but is not the errors CSV's next row"
                )
        elif matches:
            assert wanted is not None
            if current != k:
                if passed_chunk == k and passed:
                    raise NotRecovered(
                        f"row {index + 1:,} is in the errors CSV, but {passed:,} earlier row"
                        f"{'s' if passed > 1 else ''} of its chunk {'are' if passed > 1 else 'is'} not"
                    )
                first = k * chunk_size
                end = first + chunk_size - 1
                if total_items:
                    end = min(end, total_items - 1)
                chunks.append(FailedChunk(first, end, 0, wanted[1]))
                current = k
            chunk = chunks[-1]
            chunks[-1] = FailedChunk(chunk.first_index, chunk.last_index, chunk.rows + 1, chunk.message)
            indices.append(index)
            identifiers.append(next((cells[i].strip() for i in identify if cells[i].strip()), None))
            reasons.append(wanted[1] or CHUNK_FAILED)
            keys.append(chunk.key)
        elif current == k:
            raise NotRecovered(
                f"row {index + 1:,} of a chunk that failed as a whole is not in the errors CSV"
            )
        else:
            passed_chunk, passed = k, (passed + 1 if passed_chunk == k else 1)
        if matches:
            wanted = _next_error(error_records, width)
    if wanted is not None:
        raise NotRecovered(
            f"the errors CSV holds rows that the input file does not have in that order (read to row {last + 1:,})"
        )
    failed = {chunk.first_index // chunk_size for chunk in chunks}
    unreadable = sum(n for k, n in unreadable_in.items() if k in failed)
    return ChunkRows(indices, identifiers, reasons, keys, tuple(chunks), unreadable)


def input_identifiers(input_records: Iterator[Record], job_type: str) -> Iterator[tuple[int, str | None]]:
    """(row, identifier) of each row of an input file, header first in `input_records`: rows
    numbered from 1 as failures are, the identifier as `recover` reads it (the first of the
    job type's identifier columns with a value). A row with too few cells (which Meteroid
    fails, often without an identifier) keeps the ones it has: it is in the file."""
    header = next(input_records, None)
    if header is None:
        return
    identify = _identifier_columns(_cells(header), job_type)
    for index, record in enumerate(input_records):
        cells = _cells(record)
        found = (cells[i].strip() for i in identify if i < len(cells) and cells[i].strip())
        yield index + 1, next(found, None)


def _cells(record: Record) -> list[str]:
    # Compared as Meteroid reads them: the input's text normalised to UTF-8.
    if is_legacy(record.raw) or "\ufeff" in record.raw:
        return [readable(cell) for cell in record.cells]
    return record.cells


def _next_error(error_records: Iterator[Record], width: int) -> tuple[list[str], str] | None:
    """(the row's cells, its `_error`) of the errors CSV's next row, or None at its end."""
    record = next(error_records, None)
    if record is None:
        return None
    if len(record.cells) != width + 1:
        raise NotRecovered("a row of the errors CSV has not as many cells as its header")
    cells = _cells(record)
    return cells[:-1], cells[-1]


def _identifier_columns(columns: list[str], job_type: str) -> list[int]:
    names = [name.strip().lower() for name in columns]
    return [names.index(name) for name in IDENTIFIER_COLUMNS.get(job_type, ()) if name in names]
