"""Bulk writes of failure rows into an index. Pure data in: no Meteroid here.

On PostgreSQL the rows go through one `COPY … FROM STDIN` (psycopg 3), several times faster
than INSERTs; on other databases (SQLite) through batched INSERTs. Either way the caller's transaction
holds them: the index they belong to is not read until it is published (see `indexing`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connections, router, transaction

from dashboard.index.models import IndexedFailure, IndexedInputRow, IndexedJob
from dashboard.index.rows import COLUMNS, MASKED, RECORD, FailureRow, InputRow

INSERT_BATCH = 2000  # rows per executemany


def write_failures(indexed_job: IndexedJob, rows: Iterable[FailureRow]) -> tuple[int, int]:
    """Write `rows` into `indexed_job`'s index; (failure records, rows of whole failed chunks)
    written. Atomic: all of them or none."""
    alias = router.db_for_write(IndexedFailure)
    connection = connections[alias]
    with transaction.atomic(using=alias):
        if connection.vendor == "postgresql":
            return _copy(connection, indexed_job.pk, rows)
        return _insert(connection, indexed_job.pk, rows)


def _copy(connection, job_pk: int, rows: Iterable[FailureRow]) -> tuple[int, int]:
    table = connection.ops.quote_name(IndexedFailure._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in ("indexed_job_id", *COLUMNS))
    records = chunks = 0
    # The copy object is psycopg's own: its errors become Django's (IntegrityError, …) here.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            # In COPY's text format a jsonb column takes the JSON text as it is.
            copy.write_row((job_pk, *row[:MASKED], json.dumps(row.masked), *row[MASKED + 1 :]))
            if row.source == RECORD:
                records += 1
            else:
                chunks += 1
    return records, chunks


def _insert(connection, job_pk: int, rows: Iterable[FailureRow]) -> tuple[int, int]:
    """Batched INSERTs through the DB-API's `executemany`: `bulk_create` spends most of its
    time building model instances and SQL (about 8,000 rows/s here), which a scan of a
    quarter of a million rows cannot afford."""
    table = connection.ops.quote_name(IndexedFailure._meta.db_table)
    names = ("indexed_job_id", *COLUMNS)
    columns = ", ".join(connection.ops.quote_name(name) for name in names)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"  # noqa: S608 (our names)
    records = chunks = 0
    batch: list[tuple] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append((job_pk, *row[:MASKED], json.dumps(row.masked), *row[MASKED + 1 :]))
            if row.source == RECORD:
                records += 1
            else:
                chunks += 1
            if len(batch) >= INSERT_BATCH:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
    return records, chunks


def write_input_rows(indexed_job: IndexedJob, rows: Iterable[InputRow]) -> int:
    """Write the input file's `rows` into `indexed_job`'s index; how many. Atomic."""
    alias = router.db_for_write(IndexedInputRow)
    connection = connections[alias]
    table = connection.ops.quote_name(IndexedInputRow._meta.db_table)
    names = ("indexed_job_id", *InputRow._fields)
    columns = ", ".join(connection.ops.quote_name(name) for name in names)
    values = [(indexed_job.pk, *row) for row in rows]
    with transaction.atomic(using=alias):
        if connection.vendor == "postgresql":
            with (
                connection.wrap_database_errors,
                connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for value in values:
                    copy.write_row(value)
        else:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"  # noqa: S608 (our names)
            with connection.cursor() as cursor:
                for start in range(0, len(values), INSERT_BATCH):
                    cursor.executemany(sql, values[start : start + INSERT_BATCH])
    return len(values)
