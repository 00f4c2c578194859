"""Records that pickle as their constructor's arguments.

A frozen, slotted dataclass unpickles through `dataclasses`' own `__setstate__`, which looks
up the class's fields again for every object. The records kept in the cache are read on every
page view, and a page of failures holds a hundred of them: pickled as (class, field values)
instead, each is rebuilt by its constructor in half the time, and the pickle is smaller. Entries pickled the other way still load. Keyword-only fields (with
defaults) are passed by name, and only when they differ from their default, so a record
without them pickles as before.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from functools import cache, partial
from typing import Any


class PickledByFields:
    """Base of frozen, slotted dataclasses whose every field is an `__init__` argument."""

    __slots__ = ()

    def __reduce__(self):
        cls = type(self)
        positional, keywords = _field_names(cls)
        args = tuple(getattr(self, name) for name in positional)
        named = {name: value for name, default in keywords if (value := getattr(self, name)) != default}
        return (partial(cls, **named) if named else cls), args


@cache
def _field_names(cls: type) -> tuple[tuple[str, ...], tuple[tuple[str, Any], ...]]:
    """The names of the positional fields, and (name, default) of the keyword-only ones."""
    positional = tuple(f.name for f in fields(cls) if not f.kw_only)
    keywords = tuple((f.name, f.default) for f in fields(cls) if f.kw_only)
    assert all(default is not MISSING for _, default in keywords), f"{cls}: keyword fields need defaults"
    return positional, keywords
