"""`manage.py index_worker`: django-tasks-db's `db_worker`, plus a sweeper.

The database backend's worker marks a task running when it takes it and never looks at it
again, so a worker that dies mid-scan would leave its scan unfinished for good. The sweeper,
a thread beside the worker loop, puts such scans back in the queue once their lease has
expired (`indexing.sweep`), and prunes old indexes (and the queue's finished tasks) every
PRUNE_EVERY seconds. Every worker runs one; reclaiming is conditional, so two sweepers never
enqueue one scan twice.

A third thread, the backfiller, runs a round of the backfill every INDEX_BACKFILL_SECONDS (one
worker of those sharing a cache does): every job of INDEX_WINDOW_DAYS is kept indexed, by
scans that wait behind the ones pages ask for (`dashboard.index.backfill`).
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django_tasks_db.management.commands.db_worker import Command as DbWorker

from dashboard.index import backfill, indexing

logger = logging.getLogger("dashboard.index")

PRUNE_EVERY = 3600.0
TASK_RESULT_DAYS = 7


class Sweeper(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="index-sweeper", daemon=True)
        self.every = max(0.5, settings.INDEX_LEASE_SECONDS / 2)
        self.last_prune: float | None = None  # prunes on its first round
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                if found := indexing.sweep():
                    logger.info("sweeper: %d stopped scan(s) enqueued again", found)
                if self.last_prune is None or time.monotonic() - self.last_prune >= PRUNE_EVERY:
                    self.last_prune = time.monotonic()
                    if deleted := indexing.prune():
                        logger.info("sweeper: %d old index(es) pruned", deleted)
                    # The queue's own rows of finished tasks, kept a week for people to look at.
                    call_command("prune_db_task_results", min_age_days=TASK_RESULT_DAYS, verbosity=0)
            except Exception:  # the database away for a moment: try again next round
                logger.exception("index sweeper failed")
            finally:
                connections.close_all()


class Backfiller(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="index-backfill", daemon=True)
        self.every = settings.INDEX_BACKFILL_SECONDS
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                if backfill.take_turn():
                    done = backfill.backfill()
                    logger.info(
                        "backfill: %d job(s) of the window, %d read, %d index(es) asked",
                        done.listed,
                        done.looked,
                        done.asked,
                    )
            except Exception:  # Meteroid or the database away for a moment: next round
                logger.exception("index backfill failed")
            finally:
                connections.close_all()


class Command(DbWorker):
    help = (
        "Run background tasks (scans of jobs, pruning), keep recent jobs indexed, "
        "and take over scans of dead workers."
    )

    def handle(self, *args, **options) -> None:
        Sweeper().start()
        Backfiller().start()
        super().handle(*args, **options)
