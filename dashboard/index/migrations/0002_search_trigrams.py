"""Search on PostgreSQL: pg_trgm GIN indexes under case-insensitive contains.

Django's `icontains` reads `UPPER(column::text) LIKE UPPER('%…%')` on PostgreSQL, so the
indexes are on `UPPER(column)`. SQLite has no such index: there this migration does nothing.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "index_failure_reason_trgm": "reason",
    "index_failure_identifier_trgm": "identifier",
}


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON index_indexedfailure "
            f"USING gin ((UPPER({column})) gin_trgm_ops)"
        )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("index", "0001_initial")]

    operations = [
        TrigramExtension(),  # a no-op on any database but PostgreSQL
        migrations.RunPython(create, drop, elidable=False),
    ]
