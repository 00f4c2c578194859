"""The sandbox alone as a WSGI application: a stand-in Meteroid at `http://host/sandbox`,
for benchmarks and for clients other than the dashboard (gunicorn dashboard.sandbox.api.wsgi)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup(set_prefix=False)

from dashboard.sandbox.api.handler import SandboxHandler  # noqa: E402

application = SandboxHandler()
