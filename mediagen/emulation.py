"""The emulator side of a provider's protocol, derived from the catalog alone.

`CatalogEmulatorProfile` answers the way the catalog says the vendor answers: the same auth
scheme, request placement (body, wrapped body, query, path), response envelope (or none),
status vocabulary, error tables and result paths the client reads. A plugin subclasses it
only for what the catalog cannot say (Tomoviee's JSON-string result, a diagram's source).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .catalog.ir import Operation, Param, Provider, code_key
from .catalog.paths import FieldPath, merge
from .protocol import CatalogAuth
from .strategies import EmulatedTask

# Where a catalog category has no HTTP status of its own, answer with this one.
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

MAX_FILES = 16
"""The most files one emulated call produces, whatever its count parameter asks."""


def fake_credential(provider: str, name: str) -> str:
    """The value the emulator expects for a catalog credential: deterministic, never real."""
    return f"emulator-{provider}-{name}"


def file_kind(name: str) -> str:
    """The file kind of an emulated file's name: "png" for "png" and "png-2"."""
    return name.split("-", 1)[0]


class CatalogEmulatorProfile:
    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        # A custom scheme is a plugin's: only a profile of its own can check it.
        self.auth = CatalogAuth(provider) if provider.auth.kind != "custom" else None

    # -- requests -------------------------------------------------------------------------

    def check_auth(
        self,
        headers: Mapping[str, str],
        credentials: Mapping[str, str],
        query: Mapping[str, str],
    ) -> str | None:
        """None when the request carries `credentials` where the catalog's auth block says,
        else what is wrong (`"missing X-App-Key header"`); see `EmulatorProfile.check_auth`.

        Auth kind `custom` is accepted whatever the request carries: only the plugin knows
        its scheme, so a plugin with custom auth overrides this in its profile, returning None
        or the reason, reading the request's own headers (e.g. its timestamp header)."""
        if self.auth is None:
            return None
        # Optional credentials (EdrawMax's user id) may be left out, as the vendor allows.
        needed = {
            c.name: credentials[c.name]
            for c in self.provider.auth.credentials
            if c.required and c.name in credentials
        }
        lowered = {k.lower(): v for k, v in headers.items()}
        for name, value in self.auth.headers(needed).items():
            if name.lower() not in lowered:
                return f"missing {name} header"
            if lowered[name.lower()] != value:
                return f"wrong {name} header"
        for name, value in self.auth.query(needed).items():
            if name not in query:
                return f"missing {name} query parameter"
            if query[name] != value:
                return f"wrong {name} query parameter"
        return None

    def request_params(
        self,
        op: Operation,
        body: Any,
        path_params: Mapping[str, str],
        query: Mapping[str, list[str]],
    ) -> dict[str, Any]:
        params = self._body_params(op, body)
        elsewhere = sorted(
            k for k in params if k in {p.name for p in op.params} - _names(op.body_params)
        )
        if elsewhere:
            raise ValueError(f"parameters {elsewhere} do not belong in the request body")
        blanks = {c.name: "" for c in self.provider.auth.credentials}
        auth_query = set(self.auth.query(blanks)) if self.auth is not None else set()
        for key, values in query.items():
            if key in auth_query:
                continue
            try:
                param = op.param(key)
            except KeyError:
                params[key] = values[-1]  # unknown: the parameter check names it
                continue
            if param.location != "query":
                raise ValueError(f"parameter {key!r} does not belong in the query string")
            params[param.name] = _from_query(param, values)
        params.update(path_params)
        return params

    def _body_params(self, op: Operation, body: Any) -> dict[str, Any]:
        wrap = self.provider.request.wrap
        if body is None or (op.method in ("GET", "HEAD") and body == {}):
            return {}
        if not isinstance(body, Mapping):
            raise ValueError("the request body must be a JSON object")
        if wrap is None:
            return dict(body)
        if not body:
            return {}
        if set(body) != {wrap} or not isinstance(body[wrap], Mapping):
            raise ValueError(f'the request body must be {{"{wrap}": {{...parameters}}}}')
        return dict(body[wrap])

    def poll_task_id(
        self, body: Any, path_params: Mapping[str, str], query: Mapping[str, list[str]]
    ) -> str | None:
        task = self.provider.task
        if task is None:
            return None
        poll = task.poll
        if poll.task_id_in == "path":
            return path_params.get("task_id")
        if poll.task_id_in == "query":
            found = query.get(poll.task_id_param)
            return found[-1] if found else None
        value = body.get(poll.task_id_param) if isinstance(body, Mapping) else None
        return value if isinstance(value, str) else None

    # -- answers --------------------------------------------------------------------------

    def success(self, data: Any) -> Any:
        shape = self.provider.response
        envelope = shape.envelope
        if envelope is None:
            return data
        body: dict[str, Any] = {}
        merge(body, envelope.code.build(envelope.success[0]))
        if envelope.message is not None:
            merge(body, envelope.message.build(""))
        if envelope.data is not None:
            merge(body, envelope.data.build(data))
        elif isinstance(data, Mapping):
            merge(body, dict(data))
        self._trace(body)
        return body

    def error(self, category: str, message: str) -> tuple[int, Any]:
        entry = next((e for e in self.provider.vendor_codes if e.category == category), None)
        if entry is not None and self.provider.response.envelope is not None:
            return self.vendor_error(entry.code, message)
        status = self._status_for(category)
        return status, self._error_body(entry.code if entry else status, message)

    def vendor_error(self, code: int | str, message: str) -> tuple[int, Any]:
        """With an envelope: HTTP 200 and the code in it. Without: the HTTP status the
        code's category has (the code itself when it is an HTTP error status)."""
        if self.provider.response.envelope is not None:
            return 200, self._error_body(code, message)
        if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
            return code, self._error_body(code, message)
        key = code_key(code)
        entry = next((e for e in self.provider.vendor_codes if code_key(e.code) == key), None)
        return self._status_for(entry.category if entry else "invalid_param"), self._error_body(
            code, message
        )

    def _status_for(self, category: str) -> int:
        found = next((e.code for e in self.provider.http_statuses if e.category == category), None)
        return int(found) if found is not None else _CATEGORY_STATUS.get(category, 500)

    def _error_body(self, code: int | str, message: str) -> dict[str, Any]:
        shape = self.provider.response
        body: dict[str, Any] = {}
        if shape.error_code is not None:
            merge(body, shape.error_code.build(code))
        if shape.error_message is not None:
            merge(body, shape.error_message.build(message))
        if shape.envelope is not None and shape.envelope.data is not None:
            merge(body, shape.envelope.data.build({}))
        if not body:
            body = {"error": message}
        self._trace(body)
        return body

    def _trace(self, body: dict[str, Any]) -> None:
        if self.provider.response.trace_id is not None:
            import uuid  # only emulators answer with trace ids: not every plugin import

            merge(body, self.provider.response.trace_id.build(uuid.uuid4().hex))

    def submit_data(self, task_id: str) -> Any:
        assert self.provider.task is not None
        return self.provider.task.id_field.build(task_id)

    def vendor_status(self, state: str) -> Any:
        """The vendor's word for a common state, as the catalog writes it (int or str)."""
        assert self.provider.task is not None
        return self.provider.task.vendor_status(state)

    def poll_data(self, op: Operation, task: EmulatedTask) -> Any:
        proto = self.provider.task
        assert proto is not None
        data: dict[str, Any] = {}
        merge(data, proto.id_field.build(task.task_id))
        merge(data, proto.status_field.build(self.vendor_status(task.state)))
        if proto.progress_field:
            merge(data, proto.progress_field.build(round(task.progress)))
        result = self.result_payload(op, task) if task.state == "succeeded" else None
        if proto.result_field is not None:
            merge(data, proto.result_field.build(result))
        elif isinstance(result, Mapping):
            merge(data, dict(result))
        if proto.reason_field and task.reason:
            merge(data, proto.reason_field.build(task.reason))
        return data

    def result_payload(self, op: Operation, task: EmulatedTask) -> Any:
        """A finished task's result, shaped by the catalog's result paths."""
        payload = self.files_payload(op, task.urls)
        task_proto = self.provider.task
        if task_proto is not None and task_proto.result_encoding == "json_string":
            return json.dumps(payload)
        return payload

    def files_payload(self, op: Operation, urls: Mapping[str, str]) -> Any:
        """An object holding the file URLs where the catalog's result paths say (each file
        under the first path whose kind fits it), or under "urls" when they are anywhere."""
        spec = self.provider.results
        if spec.anywhere:
            return {"urls": list(urls.values())}
        placed: dict[FieldPath, list[str]] = {}
        # Paths declared for the operation's own output kind first (a mask before an image).
        ordered = sorted(spec.urls, key=lambda d: (d.kind or op.output) != op.output)
        for name, url in urls.items():
            for declared in ordered:
                if file_kind(name) in FILE_KINDS[declared.kind or op.output]:
                    placed.setdefault(declared.path, []).append(url)
                    break
        payload: dict[str, Any] = {}
        for path, found in placed.items():
            value: Any = found if path.has_wildcard or len(found) > 1 else found[0]
            built = path.build(value)
            if isinstance(built, Mapping):
                merge(payload, dict(built))
            else:
                return built  # a path such as [*]: the result is the list itself
        return payload

    def sync_data(self, op: Operation, urls: Mapping[str, str]) -> Any:
        return self.files_payload(op, urls)

    def query_data(
        self, op: Operation, params: Mapping[str, Any], tasks: Mapping[str, EmulatedTask]
    ) -> Any:
        return {}

    def file_kinds(self, op: Operation, params: Mapping[str, Any]) -> tuple[str, ...]:
        """The files a finished call produces: its output's kinds, times its count param."""
        count = params.get(op.result_count_param) if op.result_count_param else None
        if isinstance(count, str) and count.strip().isdigit():
            count = int(count)
        times = count if isinstance(count, int) and not isinstance(count, bool) else 1
        return FILE_KINDS.get(op.output, ()) * max(1, min(times, MAX_FILES))


def _names(params: tuple[Param, ...]) -> set[str]:
    return {p.name for p in params}


def _from_query(param: Param, values: list[str]) -> Any:
    """A query-string value back as the JSON type the parameter has."""
    kind = param.items if param.type == "array" else param.type
    converted = [_convert(param.name, kind or "string", v) for v in values]
    return converted if param.type == "array" else converted[-1]


def _convert(name: str, kind: str, text: str) -> Any:
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        raise ValueError(f"query parameter {name}={text!r} is not a {kind}") from None
    if kind == "boolean":
        if text not in ("true", "false"):
            raise ValueError(f"query parameter {name}={text!r} is not true or false")
        return text == "true"
    return text
