"""Static files: hashed and compressed once collected, plain names before."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's storage (`collectstatic` writes hashed names, gzip copies and a manifest;
    pages link the hashed names, which browsers may cache forever), which also works before
    anything was collected: a file the manifest does not know (a fresh checkout, the tests,
    a file added since the last `collectstatic`) keeps its plain name instead of failing the
    page that links it. WhiteNoise serves plain names from the source folders then."""

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            return name
