"""The dashboard's settings plus the benchmark's own URLs (`bench.urls`: a trivial view that
serves as the ceiling of what any page can do). Never used by the product."""

from dashboard.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
