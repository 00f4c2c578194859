"""`manage.py prune_indexes`: delete old indexes now (workers do it every hour anyway)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard.index.indexing import prune


class Command(BaseCommand):
    help = "Delete job indexes older than INDEX_RETENTION_DAYS, and those a newer state replaced."

    def handle(self, *args, **options) -> None:
        deleted = prune()
        self.stdout.write(f"{deleted} index(es) deleted (retention {settings.INDEX_RETENTION_DAYS:g} days).")
