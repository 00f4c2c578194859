"""Static files: hashed and compressed once collected, plain names before."""

from __future__ import annotations

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's storage (`collectstatic` writes hashed names, gzip copies and a manifest;
    pages link the hashed names, which browsers may cache forever), which also works before
    anything was collected: a file the manifest does not know (a fresh checkout, the tests,
    a file added since the last `collectstatic`) keeps its plain name instead of failing the
    page that links it. WhiteNoise serves plain names from the source folders then."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[tuple[str, bool, bool], str] = {}

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            return name

    def url(self, name: str, force: bool = False) -> str:
        """The file's URL, worked out once: the manifest is read when the storage is made and
        does not change after, and every page links the same dozen files."""
        key = (name, force, settings.DEBUG)
        url = self._urls.get(key)
        if url is None:
            url = self._urls[key] = super().url(name, force)
        return url
