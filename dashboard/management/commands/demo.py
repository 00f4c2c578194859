"""`manage.py demo`: everything a first run needs, then the dashboard on the sandbox, with a
background worker (`index_worker`) beside it, stopped with it: web and worker on one machine."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone


class Command(BaseCommand):
    help = "Migrate, collect static files, make a demo login (printed), and serve the dashboard."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="Where to serve (host:port)."
        )
        parser.add_argument("--username", default="demo")
        parser.add_argument("--no-serve", action="store_true", help="Prepare everything but do not serve.")
        parser.add_argument("--no-worker", action="store_true", help="Serve without a background worker.")

    def handle(self, *args, addrport: str, username: str, no_serve: bool, no_worker: bool, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        password = secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        source = "the built-in sandbox" if not settings.METEROID_API_KEY else settings.METEROID_BASE_URL
        self.stdout.write(
            self.style.SUCCESS(
                f"\nMeteroid failures dashboard, on {source}\n"
                f"  open     http://{addrport}/\n"
                f"  log in   {username} / {password}\n"
            )
        )
        if no_serve:
            return
        _catalogue_ends_today()
        worker = None if no_worker else self._start_worker()
        # Stopped by a signal (not only Ctrl+C), the demo still stops its worker on the way out.
        signal.signal(signal.SIGTERM, _exit)
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            if worker is not None:
                _stop(worker)

    def _start_worker(self) -> subprocess.Popen:
        """The background worker, a process of its own (as the Procfile's `worker`), on the
        same settings and database."""
        manage = str(settings.BASE_DIR / "manage.py")
        return subprocess.Popen([sys.executable, manage, "index_worker", "--no-reload", "-v", "0"])  # noqa: S603 (our own command)


def _catalogue_ends_today() -> None:
    """The sandbox's catalogue of ended jobs ends today (UTC), in this process and in the
    worker it starts, unless SANDBOX_CATALOGUE_ENDS says otherwise: the demo's jobs are those
    of the last four weeks whatever the day, within the window the index keeps."""
    if "SANDBOX_CATALOGUE_ENDS" in os.environ:
        return
    today = timezone.now().date().isoformat()
    os.environ["SANDBOX_CATALOGUE_ENDS"] = today
    settings.SANDBOX_CATALOGUE_ENDS = date.fromisoformat(today)


def _stop(worker: subprocess.Popen) -> None:
    """Stop the worker. Ctrl+C reaches it too (one process group), and a second signal while it
    winds down makes it abort noisily, so it is given a moment to end by itself first."""
    for stop in (None, worker.terminate, worker.kill):
        if stop is not None:
            stop()
        try:
            worker.wait(2 if stop is None else 10)
            return
        except subprocess.TimeoutExpired:
            continue


def _exit(signum, frame) -> None:
    raise SystemExit(0)
