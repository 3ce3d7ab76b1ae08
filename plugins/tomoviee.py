"""Tomoviee (Wondershare open API): Basic auth from app key and secret plus X-App-Key, flat
bodies, POST /v1/open/pub/task {"task_id"} to poll, integer states 1..6.

A finished task's `data.result` is a JSON *string* holding video_path / images_path (older
docs: image_path) / mask_path / audio_path lists: the catalog declares those paths. A poll answer with a non-zero code but a
`data` object still describes the task (the vendor clients treat only "code != 0 and no
data" as an error), so it is read as a status, not raised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mediagen.plugin import (
    Call,
    CatalogEmulatorProfile,
    CatalogErrorClassifier,
    CatalogResults,
    EmulatedTask,
    Operation,
    ProviderPlugin,
    builtin_catalog,
)

NAME = "tomoviee"
GENERATED = "mediagen.generated"


class TomovieeErrors(CatalogErrorClassifier):
    def accept_failed_code(self, call: Call, body: Mapping[str, Any]) -> bool:
        return call.phase == "poll" and isinstance(self.data_of(body), Mapping)


class TomovieeEmulator(CatalogEmulatorProfile):
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
    results=CatalogResults,
    errors=TomovieeErrors,
    emulator=TomovieeEmulator,
)
