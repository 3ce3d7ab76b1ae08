"""The Acme provider plugin: its catalog, its generated package, and what the catalog cannot
say (where a finished job lists its files, and how the emulator lists them).

Imports only `mediagen.plugin`, the public plugin API.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mediagen.plugin import (
    Artifact,
    CatalogEmulatorProfile,
    EmulatedTask,
    MalformedResponseError,
    Operation,
    ProviderPlugin,
    is_http_url,
    output_kind,
)

CATALOG = Path(__file__).resolve().parent / "catalog" / "acme"


class AcmeResults:
    """A finished job's `output` is `{"files": [{"url": ...}, ...]}`: one artifact per file."""

    def artifacts(self, op: Operation, payload: Any) -> tuple[Artifact, ...]:
        files = payload.get("files") if isinstance(payload, Mapping) else None
        if not isinstance(files, list):
            raise MalformedResponseError(f"an Acme job output has no files list: {payload!r:.120}")
        urls = [f.get("url") for f in files if isinstance(f, Mapping)]
        return tuple(Artifact(url=u, kind=output_kind(op)) for u in urls if is_http_url(u))


class AcmeEmulator(CatalogEmulatorProfile):
    def result_payload(self, op: Operation, task: EmulatedTask) -> Any:
        return {"files": [{"url": url} for url in task.urls.values()]}


plugin = ProviderPlugin(
    "acme",
    catalog=CATALOG,
    generated="acme_mediagen.generated",
    results=lambda provider: AcmeResults(),
    emulator=AcmeEmulator,
)
