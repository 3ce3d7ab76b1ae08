"""Media.io: X-API-KEY auth, `{"data": {...}}` bodies, POST /generation/result/{task_id}.

The catalog says it all (the results are `anywhere`: every http(s) URL inside the
undocumented `data.result` becomes an artifact); the emulator answers with a nested
result shape and the two query operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediagen.plugin import (
    CatalogEmulatorProfile,
    CatalogResults,
    EmulatedTask,
    Operation,
    ProviderPlugin,
    builtin_catalog,
)

NAME = "mediaio"
GENERATED = "mediagen.generated"


class MediaioEmulator(CatalogEmulatorProfile):
    def result_payload(self, op: Operation, task: EmulatedTask) -> Any:
        # Nested on purpose: the client must find URLs wherever the vendor puts them.
        # Sizes and durations as the files state them (the emulator draws what was asked).
        if op.output == "video":
            seconds, width, height = task.video_format()
            video = {"url": task.urls["mp4"], "duration": seconds, "width": width, "height": height}
            return {"videos": [video]}
        width, height = task.image_size()
        images = [{"url": url, "width": width, "height": height} for url in task.urls.values()]
        return {"images": images}

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
    results=CatalogResults,
    emulator=MediaioEmulator,
)
