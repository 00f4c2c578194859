"""Bar charts drawn on the server: numbers in, bar geometry out, for an SVG in a template.

Sizes go out as SVG attributes (`<rect width="…">`), never as inline styles, so the charts
need no JavaScript and pass a strict Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Bar:
    item: Any  # what the bar stands for (a reason group), or None for "the rest"
    value: int
    share: float  # of the total, 0..1
    width: str  # SVG user units of a 0..100 wide box, relative to the largest bar
    share_width: str  # the same, relative to the total

    @property
    def percent(self) -> float:
        return 100.0 * self.share


def _units(value: float) -> str:
    # A plain decimal string: templates localise floats, and an SVG attribute must not.
    return f"{max(0.0, min(100.0, value)):.2f}"


def bar_chart(items: Sequence[tuple[Any, int]], total: int, *, top: int = 8) -> list[Bar]:
    """Bars for the `top` largest items (given largest first), and one more for the rest.

    Widths are relative to the largest bar, so that the chart uses its whole width; each bar
    also carries its share of `total` to say beside it.
    """
    if total <= 0 or not items:
        return []
    shown = list(items[:top])
    rest = sum(value for _, value in items[top:])
    largest = max([value for _, value in shown] + [rest])
    bars = [
        Bar(item, value, value / total, _units(100.0 * value / largest), _units(100.0 * value / total))
        for item, value in shown
    ]
    if rest:
        bars.append(
            Bar(None, rest, rest / total, _units(100.0 * rest / largest), _units(100.0 * rest / total))
        )
    return bars


def share_bar(share: float) -> str:
    """The width of a bar for `share` (0..1) of a 0..100 wide box."""
    return _units(100.0 * share)
