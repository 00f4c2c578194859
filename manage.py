#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018  reads the environment, once
    except ImproperlyConfigured as exc:
        # A malformed variable is the operator's to fix: say which, without a traceback.
        sys.exit(f"Cannot start: {exc}")

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
