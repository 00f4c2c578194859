"""The dashboard's settings for its tests: those of a deployment, but for what a checkout holds.

`make demo` (and the Procfile's release step) collect static files into the checkout's
`staticfiles/`: hashed names and a manifest, which pages then link. Tests expect what a fresh
checkout serves (plain names, from the source folders), so they get a static root of their
own, a new empty folder, whatever the checkout holds. It is passed on through the environment,
so that the dashboards tests start as processes use the same; a test that wants files
collected gives its process a STATIC_ROOT of its own (tests/e2e/server.py, test_storage.py).
"""

import os
import tempfile

# Made by the first process of a run, inherited by the processes it starts; the process that
# made it removes it at the end (tests/conftest.py).
_INHERITED = "TESTS_STATIC_ROOT"
CREATED_STATIC_ROOT = None
if _INHERITED not in os.environ:
    CREATED_STATIC_ROOT = os.environ[_INHERITED] = tempfile.mkdtemp(prefix="dashboard-tests-static-")
os.environ["STATIC_ROOT"] = os.environ[_INHERITED]

from dashboard.settings import *  # noqa: E402, F403

# A test's database is one transaction on one connection: a scan run in a test writes over
# that one (tests of writers side by side ask for them, on a database they commit to).
INDEX_WRITERS = 1
