"""Reading the dashboard's HTML as a browser would, for security checks.

`audit(html)` lists what a strict CSP would block or what injected markup would look like:
inline scripts and styles, event-handler attributes, `javascript:` links, scripts from
anywhere but /static/. `texts(html)` gives the decoded text and attribute values, to check
that hostile data arrives intact. `links(html)` gives every URL a page points at.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post", "data-url"}


class _Auditor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.texts: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []  # (tag, name, value)
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        for name, value in attrs:
            value = value or ""
            self.attributes.append((tag, name, value))
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name} on <{tag}>")
            if name == "style":
                self.problems.append(f"inline style on <{tag}>")
            if name in URL_ATTRIBUTES and value.strip().lower().replace("\t", "").startswith(
                ("javascript:", "data:", "vbscript:")
            ):
                self.problems.append(f"{name}={value!r} on <{tag}>")
            if name.startswith("hx-on"):
                self.problems.append(f"{name} on <{tag}> (needs eval)")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if "src" not in names:
                self.problems.append("inline <script>")
            elif not src.startswith("/static/"):
                self.problems.append(f"script from {src!r}")
        if tag == "style":
            self.problems.append("<style> element")
            self._in_style = True
        if tag in ("iframe", "object", "embed", "base"):
            self.problems.append(f"<{tag}> element")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def _parse(html: str) -> _Auditor:
    auditor = _Auditor()
    auditor.feed(html)
    auditor.close()
    return auditor


def audit(html: str) -> list[str]:
    """What a strict CSP would refuse, or what only injected markup would contain."""
    return _parse(html).problems


def texts(html: str) -> str:
    """All decoded text and attribute values, joined by newlines."""
    auditor = _parse(html)
    return "\n".join([*auditor.texts, *(value for _, _, value in auditor.attributes)])


def attribute_values(html: str, name: str) -> list[str]:
    return [value for _, attr, value in _parse(html).attributes if attr == name]


def links(html: str, base_path: str) -> list[str]:
    """Same-site paths (with their queries) that the page links, posts or fetches to."""
    found = []
    for _, name, value in _parse(html).attributes:
        if name not in URL_ATTRIBUTES or not value or value.startswith("#"):
            continue
        parts = urlsplit(value)
        if parts.scheme or parts.netloc:
            continue
        path = parts.path or base_path
        if not path.startswith("/"):
            path = base_path.rsplit("/", 1)[0] + "/" + path
        found.append(path + (f"?{parts.query}" if parts.query else ""))
    return found
