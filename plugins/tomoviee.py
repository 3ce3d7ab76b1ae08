"""Tomoviee (Wondershare open API): Basic auth from app key and secret plus X-App-Key, flat
bodies, POST /v1/open/pub/task {"task_id"} to poll, integer states 1..6.

A finished task's `data.result` is a JSON *string* holding video_path / images_path (older
docs: image_path) / mask_path / audio_path lists. A poll answer with a non-zero code but a
`data` object still describes the task (the vendor clients treat only "code != 0 and no
data" as an error), so it is read as a status, not raised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mediagen.plugin import (
    Artifact,
    ArtifactKind,
    Call,
    CatalogEmulatorProfile,
    CatalogErrorClassifier,
    EmulatedTask,
    Operation,
    ProviderPlugin,
    builtin_catalog,
    unique_artifacts,
)

NAME = "tomoviee"
GENERATED = "mediagen.generated"

RESULT_KEYS: dict[str, ArtifactKind] = {
    "video_path": "video",
    "images_path": "image",
    "image_path": "image",
    "mask_path": "mask",
    "audio_path": "audio",
}


class TomovieeResults:
    def artifacts(self, op: Operation, payload: Any) -> tuple[Artifact, ...]:
        found: list[Artifact] = []
        if isinstance(payload, Mapping):
            for key, kind in RESULT_KEYS.items():
                urls = payload.get(key)
                if isinstance(urls, str):
                    urls = [urls]
                if isinstance(urls, list):
                    found.extend(unique_artifacts([u for u in urls if isinstance(u, str)], kind))
        return tuple(dict((a.url, a) for a in found).values())


class TomovieeErrors(CatalogErrorClassifier):
    def accept_failed_code(self, call: Call, body: Mapping[str, Any]) -> bool:
        return call.phase == "poll" and isinstance(
            body.get(self.provider.response.data_field), Mapping
        )


class TomovieeEmulator(CatalogEmulatorProfile):
    def vendor_status(self, state: str) -> Any:
        return int(super().vendor_status(state))

    def result_payload(self, op: Operation, task: EmulatedTask) -> Any:
        key = {
            "video": "video_path",
            "image": "images_path",
            "mask": "mask_path",
            "audio": "audio_path",
        }[op.output]
        return json.dumps({key: list(task.urls.values())})


plugin = ProviderPlugin(
    NAME,
    catalog=builtin_catalog(NAME),
    generated=GENERATED,
    results=lambda provider: TomovieeResults(),
    errors=TomovieeErrors,
    emulator=TomovieeEmulator,
)
