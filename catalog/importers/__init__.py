"""One importer per source format; each turns a file into IR operations."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from ..ir import Operation


@attrs.frozen
class ImportContext:
    provider: str
    base_urls: tuple[str, ...]
    """The provider's base URL and aliases: absolute endpoints must live under one of them."""
    options: Mapping[str, Any]
    """The provider file's `operations:` block (format, file and format-specific options)."""
    default_location: Literal["body", "query"] = "body"
    """Where parameters that are not in the path go (the provider's request.params_in)."""

    def location_for(self, method: str) -> Literal["body", "query"]:
        """Where a parameter goes by default: the query string for GET and HEAD (which carry
        no body), else the provider's request.params_in."""
        return "query" if method.upper() in ("GET", "HEAD") else self.default_location


Importer = Callable[[Path, ImportContext], tuple[Operation, ...]]

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def placeholders(path: str) -> set[str]:
    return set(_PLACEHOLDER.findall(path))


def importers() -> dict[str, Importer]:
    from . import mediaio_export, native

    return {
        "mediaio-export": mediaio_export.load_operations,
        "mediagen-operations": native.load_operations,
    }
