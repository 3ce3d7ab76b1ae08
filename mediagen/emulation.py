"""The emulator side of a provider's protocol, driven by the catalog's facts.

`CatalogEmulatorProfile` answers the way the catalog says the vendor answers: the same auth
headers, body envelope, status vocabulary and error tables the client uses. A plugin
subclasses it for what the catalog cannot say (the shape of a finished result).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from .catalog.ir import Operation, Provider
from .protocol import CatalogAuth
from .strategies import EmulatedTask

# Where a catalog category has no vendor code, answer with this HTTP status.
_CATEGORY_STATUS = {
    "auth": 401,
    "invalid_param": 400,
    "payload_too_large": 413,
    "not_found": 404,
    "rate_limited": 429,
    "server": 500,
    "transient": 503,
    "credits": 402,
    "content_rejected": 400,
    "generation_failed": 500,
}

FILE_KINDS: dict[str, tuple[str, ...]] = {
    "image": ("png",),
    "mask": ("png",),
    "video": ("mp4",),
    "audio": ("mp3",),
    "diagram": ("png", "svg"),
    "none": (),
}


class CatalogEmulatorProfile:
    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def check_auth(self, headers: Mapping[str, str], credentials: Mapping[str, str]) -> str | None:
        expected = CatalogAuth(self.provider).headers(credentials)
        lowered = {k.lower(): v for k, v in headers.items()}
        for name, value in expected.items():
            if name.lower() not in lowered:
                return f"missing {name} header"
            if lowered[name.lower()] != value:
                return f"wrong {name} header"
        return None

    def request_params(
        self, op: Operation, body: Any, path_params: Mapping[str, str]
    ) -> dict[str, Any]:
        envelope = self.provider.request_envelope
        if not isinstance(body, Mapping):
            raise ValueError("the request body must be a JSON object")
        if envelope is None:
            params = dict(body)
        elif not body:
            params = {}
        elif set(body) != {envelope} or not isinstance(body[envelope], Mapping):
            raise ValueError(f'the request body must be {{"{envelope}": {{...parameters}}}}')
        else:
            params = dict(body[envelope])
        params.update(path_params)
        return params

    def poll_task_id(self, body: Any, path_params: Mapping[str, str]) -> str | None:
        task = self.provider.task
        if task is None:
            return None
        if task.result.task_id_in == "path":
            return path_params.get("task_id")
        value = body.get(task.id_field) if isinstance(body, Mapping) else None
        return value if isinstance(value, str) else None

    def success(self, data: Any) -> Any:
        shape = self.provider.response
        body: dict[str, Any] = {
            shape.code_field: shape.success_code,
            shape.message_field: "",
            shape.data_field: data,
        }
        if shape.trace_id_field:
            body[shape.trace_id_field] = uuid.uuid4().hex
        return body

    def error(self, category: str, message: str) -> tuple[int, Any]:
        for entry in self.provider.vendor_codes:
            if entry.category == category:
                return self.vendor_error(entry.code, message)
        status = next((e.code for e in self.provider.http_statuses if e.category == category), None)
        status = status or _CATEGORY_STATUS.get(category, 500)
        return status, self._body(status, message)

    def vendor_error(self, code: int, message: str) -> tuple[int, Any]:
        return 200, self._body(code, message)

    def _body(self, code: int, message: str) -> dict[str, Any]:
        shape = self.provider.response
        body: dict[str, Any] = {
            shape.code_field: code,
            shape.message_field: message,
            shape.data_field: {},
        }
        if shape.trace_id_field:
            body[shape.trace_id_field] = uuid.uuid4().hex
        return body

    def submit_data(self, task_id: str) -> Any:
        assert self.provider.task is not None
        return {self.provider.task.id_field: task_id}

    def vendor_status(self, state: str) -> Any:
        """The vendor's word for a common state: the first one the catalog maps to it."""
        assert self.provider.task is not None
        return next(k for k, v in self.provider.task.states.items() if v == state)

    def poll_data(self, op: Operation, task: EmulatedTask) -> Any:
        proto = self.provider.task
        assert proto is not None
        data: dict[str, Any] = {
            proto.id_field: task.task_id,
            proto.status_field: self.vendor_status(task.state),
        }
        if proto.progress_field:
            data[proto.progress_field] = round(task.progress)
        if task.state == "succeeded":
            data[proto.result_field] = self.result_payload(op, task)
        elif proto.result_field:
            data[proto.result_field] = None
        if proto.reason_field and task.reason:
            data[proto.reason_field] = task.reason
        return data

    def result_payload(self, op: Operation, task: EmulatedTask) -> Any:
        """A finished task's result, in the vendor's shape. Plugins override this."""
        return {"urls": list(task.urls.values())}

    def sync_data(self, op: Operation, urls: Mapping[str, str]) -> Any:
        return {"urls": list(urls.values())}

    def query_data(
        self, op: Operation, params: Mapping[str, Any], tasks: Mapping[str, EmulatedTask]
    ) -> Any:
        return {}

    def file_kinds(self, op: Operation) -> tuple[str, ...]:
        return FILE_KINDS.get(op.output, ())
