"""`manage.py index_worker`: django-tasks-db's `db_worker`, running INDEX_WORKER_SCANS scans at
once, plus a sweeper and a backfiller.

The worker loops of `db_worker` run one task at a time each; here INDEX_WORKER_SCANS of them
run side by side in threads. The first takes only the default queue's tasks, the scans pages
ask for: a page never waits for a long scan of the backfill (its own queue) to end. The others
take either, pages' first (by priority). The backfill's scans share their part of the Meteroid
budget besides (`sources._slots`). A stop signal lets every loop finish the scan it runs; a
second one stops at once.

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
import os
import signal
import sys
import threading
import time

from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, close_old_connections, connections
from django.tasks import DEFAULT_TASK_QUEUE_NAME
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorker
from django_tasks_db.management.commands.db_worker import Worker

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


class Loop(Worker):
    """`db_worker`'s loop, which goes on after a database error (SQLite busy past its
    timeout, PostgreSQL restarting) rather than end, and the whole worker with it."""

    def run(self) -> None:
        while True:
            try:
                super().run()
                return
            except DatabaseError:
                if not self.running:
                    return
                logger.exception("index loop %s: database error; it goes on in a second", self.worker_id)
                close_old_connections()
                self.startup_delay = False
                time.sleep(1)


class Loops(Loop):
    """The loop that the command runs in the main thread, which also runs `others` (loops of
    their own, in threads) and stops them with itself: on a stop signal each finishes the
    task it runs, and the process ends once they all have."""

    def __init__(self, *, others: list[Loop], **options) -> None:
        super().__init__(**options)
        self.others = others

    def run(self) -> None:
        threads = [
            threading.Thread(target=loop.run, name=f"index-loop-{number}", daemon=True)
            for number, loop in enumerate(self.others, start=1)
        ]
        for thread in threads:
            thread.start()
        try:
            super().run()
        finally:
            self._finish(threads)

    def _finish(self, threads: list[threading.Thread]) -> None:
        """Let the other loops end the scans they run, then return."""
        for loop in self.others:
            loop.running = False
        for thread in threads:
            thread.join()

    def shutdown(self, signum, frame) -> None:
        if not self.running:
            # The second signal: at once, before the scans' threads can do anything more (as
            # the interpreter winds down they would fail): what they were scanning is taken
            # over once its lease expires.
            logger.warning("Received %s again - stopping now", signal.strsignal(signum))
            os._exit(1)
        logger.warning("Received %s - finishing the scans under way", signal.strsignal(signum))
        for loop in (self, *self.others):
            loop.running = False
        if not any(loop.running_task for loop in (self, *self.others)):
            sys.exit(0)


class Command(DbWorker):
    help = (
        "Run background tasks (scans of jobs, pruning), keep recent jobs indexed, "
        "and take over scans of dead workers."
    )

    def handle(self, *args, **options) -> None:
        """`db_worker`'s, with the loops above. Which queues each loop takes is the worker's
        own affair (`--queue-name` and `--exclude-queues` are not for it)."""
        self.configure_logging(options["verbosity"])
        if options["queue_name"] != DEFAULT_TASK_QUEUE_NAME or options["exclude_queues"]:
            raise CommandError(
                "index_worker takes every queue of the index: no --queue-name or --exclude-queues."
            )
        loops = _loops(
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
        )
        Sweeper().start()
        Backfiller().start()
        if options["reload"] and not options["batch"]:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                loops.configure_signals()  # in the reloader's child only
            run_with_reloader(loops.run)
        else:
            loops.configure_signals()
            loops.run()


def _loops(*, worker_id: str, **options) -> Loops:
    """The main loop, with INDEX_WORKER_SCANS - 1 others: when there are others, the main one
    takes only the default queue (pages' scans), they take every queue."""
    others = [
        Loop(**options, worker_id=f"{worker_id[:60]}-{number}", queue_names=["*"], excluded_queue_names=[])
        for number in range(1, settings.INDEX_WORKER_SCANS)
    ]
    queues = [DEFAULT_TASK_QUEUE_NAME] if others else ["*"]
    return Loops(**options, worker_id=worker_id, queue_names=queues, excluded_queue_names=[], others=others)
