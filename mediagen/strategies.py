"""What provider plugins supply: small strategy objects, resolved once per provider.

Each hook in `mediagen.hookspecs` returns one of these. The runtime never branches on a
vendor's name: everything vendor-specific goes through a strategy.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from .catalog.ir import TERMINAL_STATES, Operation, Provider, TaskState
from .defaults import PollSchedule
from .errors import MalformedResponseError
from .records import maker
from .results import Artifact


@attrs.frozen
class HttpRequest:
    method: str
    path: str
    """Relative to the provider's base URL, placeholders already filled."""
    json: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    query: Mapping[str, Any] = attrs.field(factory=dict)
    """Query-string parameters (lists repeat the key, booleans are true/false)."""


def query_pairs(query: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A query mapping as the (key, text) pairs sent on the wire."""
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is None:
                continue
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            pairs.append((key, text))
    return pairs


@attrs.frozen
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        body = self.body
        try:
            # (0, the byte's value: bytes' `in` tries its operand as an int first, and a bytes
            # operand raises inside before it is searched for. A slice compared, as
            # `startswith` builds and parses an argument tuple.)
            if 0 not in body and body[:3] != _BOM_UTF8:
                # UTF-8 (UTF-16 and UTF-32 JSON hold NUL bytes), decoded as json.loads would
                # decode it, without its encoding detection.
                text = body.decode("utf-8", "surrogatepass")
                # json.loads(text): one JSON value from the first character to the last (the
                # usual answer) is scanned directly; anything else (whitespace around it, an
                # error) goes through json.loads, which raises its own error.
                try:
                    value, end = _scan_json(text, 0)
                except (StopIteration, ValueError):
                    return json.loads(text)
                return value if end == len(text) else json.loads(text)
            return json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            snippet = self.body[:120].decode("utf-8", "replace")
            raise MalformedResponseError(
                f"expected JSON, got {len(self.body)} bytes starting {snippet!r} ({exc})",
                status=self.status,
            ) from None


_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""The decoder's own scanner (C where available), as json.loads uses it."""

_BOM_UTF8 = codecs.BOM_UTF8


@attrs.frozen
class TaskStatus:
    """One observation of a task."""

    state: TaskState
    progress: float | None = None
    """Percent complete, when the vendor says."""
    raw: Any = None
    """The vendor's `data` object for this poll."""
    payload: Any = None
    """The result payload (decoded) once the task succeeded."""
    reason: str | None = None
    """The vendor's failure text, when it gives one."""
    vendor_status: Any = None
    poll_after: float | None = None
    """Seconds until the vendor expects a change, when its answer said (Retry-After)."""

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


@attrs.frozen
class Call:
    """What a strategy knows about the call it is handling."""

    provider: Provider
    operation: Operation
    phase: str
    """submit, poll, query or run."""
    task_id: str | None = None


new_request = maker(HttpRequest)
"""HttpRequest(method, path, json, headers, query), every field given (see mediagen.records)."""
new_response = maker(HttpResponse)
"""HttpResponse(status, headers, body) (see mediagen.records)."""
new_status = maker(TaskStatus)
"""TaskStatus(state, progress, raw, payload, reason, vendor_status, poll_after), every field
given (see mediagen.records)."""
new_call = maker(Call)
"""Call(provider, operation, phase, task_id) (see mediagen.records)."""


@runtime_checkable
class AuthStrategy(Protocol):
    """Credentials on a request. A strategy may also define `query(credentials)`, returning
    query-string parameters that carry credentials (the runtime calls it when present)."""

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        """Request headers carrying the credentials (names as in the catalog)."""
        ...


@runtime_checkable
class TaskStrategy(Protocol):
    def submit_request(self, op: Operation, params: Mapping[str, Any]) -> HttpRequest: ...

    def task_id(self, op: Operation, data: Any) -> str:
        """The task id from a submit response's data."""
        ...

    def poll_request(self, op: Operation, task_id: str) -> HttpRequest: ...

    def status(self, op: Operation, data: Any) -> TaskStatus:
        """Interpret a poll response's data."""
        ...

    def poll_schedule(self, op: Operation) -> PollSchedule: ...


@runtime_checkable
class ResultParser(Protocol):
    def artifacts(self, op: Operation, payload: Any) -> tuple[Artifact, ...]: ...


@runtime_checkable
class ErrorClassifier(Protocol):
    def check(self, call: Call, response: HttpResponse) -> Any:
        """The response's `data` when it is a success, else raise a `CallError`."""
        ...


@runtime_checkable
class EmulatorProfile(Protocol):
    """How the emulator speaks one provider's wire protocol (see mediagen.testing)."""

    def check_auth(
        self,
        headers: Mapping[str, str],
        credentials: Mapping[str, str],
        query: Mapping[str, str],
    ) -> str | None:
        """Whether an emulated request carries the credentials, as the vendor would check.

        `headers` and `query` are the request's (last value of each query parameter);
        `credentials` are the values the emulator expects, by catalog credential name. Return
        None to accept the request, or a short reason (`"wrong X-Signature header"`) and the
        emulator answers with the provider's auth error. Never put a credential in the reason.
        `CatalogEmulatorProfile` checks every catalog auth kind except `custom`, which it
        accepts whatever the request carries: a plugin with custom auth overrides this and
        checks its scheme from the request alone (a signature over the request's own
        timestamp header, not the current time), or the conformance suite's
        wrong-credentials check fails (docs/writing-a-plugin.md, section 4)."""
        ...

    def request_params(
        self,
        op: Operation,
        body: Any,
        path_params: Mapping[str, str],
        query: Mapping[str, list[str]],
    ) -> dict[str, Any]:
        """The operation's wire params from a request (raise ValueError on a bad shape)."""
        ...

    def poll_task_id(
        self, body: Any, path_params: Mapping[str, str], query: Mapping[str, list[str]]
    ) -> str | None: ...

    def success(self, data: Any) -> Any:
        """A full success response body around `data`."""
        ...

    def error(self, category: str, message: str) -> tuple[int, Any]:
        """(HTTP status, body) for an error of a catalog category."""
        ...

    def vendor_error(self, code: int | str, message: str) -> tuple[int, Any]:
        """(HTTP status, body) carrying a vendor error code."""
        ...

    def submit_data(self, task_id: str) -> Any: ...

    def poll_data(self, op: Operation, task: EmulatedTask) -> Any: ...

    def sync_data(self, op: Operation, urls: Mapping[str, str]) -> Any:
        """A synchronous operation's data; urls maps file names ("png", "svg", then "png-1",
        ... for further files of a kind) to their URLs."""
        ...

    def query_data(
        self, op: Operation, params: Mapping[str, Any], tasks: Mapping[str, EmulatedTask]
    ) -> Any: ...

    def file_kinds(self, op: Operation, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Which files a finished call produces (png, svg, mp3, mp4), one entry per file."""
        ...


@attrs.define
class EmulatedTask:
    """A task inside the emulator, as profiles see it."""

    task_id: str
    operation: Operation
    state: TaskState
    progress: float
    urls: dict[str, str]
    """File name -> URL, once succeeded: the first file of each kind under the kind ("png"),
    further ones as "png-1", "png-2", ..."""
    params: Mapping[str, Any] = attrs.field(factory=dict)
    """The wire params the task was submitted with."""
    reason: str | None = None

    def image_size(self) -> tuple[int, int]:
        """(width, height) of the images the emulator draws for this task: the requested size
        or aspect ratio, else 64 x 64. A profile states it in its answer, as vendors do."""
        from .testing.artifact_specs import image_size

        return image_size(self.params) or (64, 64)

    def video_format(self) -> tuple[float, int, int]:
        """(seconds, width, height) the emulated video's container states for this task."""
        from .testing.artifact_specs import seconds, video_size

        return (seconds(self.params), *video_size(self.params))
