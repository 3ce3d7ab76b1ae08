"""Media.io: X-API-KEY auth, `{"data": {...}}` bodies, POST /generation/result/{task_id}.

The shape of a finished task's `data.result` is undocumented, so every http(s) URL found
anywhere inside it becomes an artifact, and the raw object stays on the Result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediagen.plugin import (
    Artifact,
    CatalogEmulatorProfile,
    EmulatedTask,
    Operation,
    ProviderPlugin,
    builtin_catalog,
    iter_urls,
    output_kind,
    unique_artifacts,
)

NAME = "mediaio"
GENERATED = "mediagen.generated"


class UrlCollector:
    """Artifacts from an object of unknown shape: every URL in it, in document order."""

    def artifacts(self, op: Operation, payload: Any) -> tuple[Artifact, ...]:
        return unique_artifacts(list(iter_urls(payload)), output_kind(op))


class MediaioEmulator(CatalogEmulatorProfile):
    def result_payload(self, op: Operation, task: EmulatedTask) -> Any:
        # Nested on purpose: the client must find URLs wherever the vendor puts them.
        if op.output == "video":
            return {"videos": [{"url": task.urls["mp4"], "duration": 5}]}
        return {"images": [{"url": url, "width": 64, "height": 64} for url in task.urls.values()]}

    def query_data(
        self, op: Operation, params: Mapping[str, Any], tasks: Mapping[str, EmulatedTask]
    ) -> Any:
        if op.id == "credits":
            return {"credits": 1000}
        task = tasks.get(str(params.get("task_id")))
        if task is None:
            raise LookupError("Task not found")
        return self.poll_data(task.operation, task)


plugin = ProviderPlugin(
    NAME,
    catalog=builtin_catalog(NAME),
    generated=GENERATED,
    results=lambda provider: UrlCollector(),
    emulator=MediaioEmulator,
)
