"""Every URL pattern of the project, read from the URLconf, with a concrete URL for each.

Security and fuzz tests walk this list instead of a hand-kept one, so a page added later is
checked as soon as it exists. Path parameters get a sample value by name (`job_id` a job of
the world the test serves, `kind` a file kind, anything else a plain token).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the route itself when it has no name
    route: str  # the pattern as written, prefixes included
    params: tuple[str, ...]
    namespace: str
    callback_name: str

    def url(self, **values: str) -> str:
        """A concrete URL of this pattern, with `values` for its parameters."""
        wanted = {param: values.get(param, sample(param)) for param in self.params}
        if ":" in self.name or self.name.isidentifier() or "-" in self.name:
            try:
                return reverse(self.name, kwargs=wanted)
            except Exception:  # noqa: S110 - a value the pattern refuses: build it from the route
                pass
        return "/" + _ROUTE_PARAM.sub(lambda m: wanted[m["name"]], self.route)


SAMPLES = {"job_id": "bjob_Fake0000000000000001", "kind": "errors", "chunk_id": "bjch_FakeChunk0"}


def sample(param: str) -> str:
    return SAMPLES.get(param, "x")


def _route_text(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return str(pattern._route)
    if isinstance(pattern, RegexPattern):
        regex = pattern._regex.lstrip("^").rstrip("$")
        return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", regex)
    return str(pattern)


def all_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            text = prefix + _route_text(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace
                walk(entry.url_patterns, text, inner or namespace)
            elif isinstance(entry, URLPattern):
                name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
                params = tuple(m["name"] for m in _ROUTE_PARAM.finditer(text))
                callback = getattr(entry.callback, "__name__", type(entry.callback).__name__)
                routes.append(Route(name or text or "/", text, params, namespace or "", callback))

    walk(get_resolver().url_patterns, "", "")
    return routes
