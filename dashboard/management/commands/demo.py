"""`manage.py demo`: everything a first run needs, then the dashboard on the sandbox."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, collect static files, make a demo login (printed), and serve the dashboard."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="Where to serve (host:port)."
        )
        parser.add_argument("--username", default="demo")
        parser.add_argument("--no-serve", action="store_true", help="Prepare everything but do not serve.")

    def handle(self, *args, addrport: str, username: str, no_serve: bool, **options) -> None:
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
        if not no_serve:
            call_command("runserver", addrport, use_reloader=False)
