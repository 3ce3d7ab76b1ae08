"""The catalog's intermediate representation: one shape for every source format.

Importers turn vendor exports and our own YAML into these frozen attrs classes; codegen,
the CLI and the runtime read nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

ParamType = Literal["string", "integer", "number", "boolean", "array"]
ItemType = Literal["string", "integer", "number", "boolean"]
Kind = Literal["task", "sync", "query"]
Output = Literal["image", "video", "audio", "mask", "diagram", "none"]
ErrorCategory = Literal[
    "auth",
    "credits",
    "content_rejected",
    "rate_limited",
    "invalid_param",
    "payload_too_large",
    "not_found",
    "generation_failed",
    "transient",
    "server",
]
TaskState = Literal["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]

PARAM_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "array")
ITEM_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean")
KINDS: tuple[str, ...] = ("task", "sync", "query")
OUTPUTS: tuple[str, ...] = ("image", "video", "audio", "mask", "diagram", "none")
ERROR_CATEGORIES: tuple[str, ...] = (
    "auth",
    "credits",
    "content_rejected",
    "rate_limited",
    "invalid_param",
    "payload_too_large",
    "not_found",
    "generation_failed",
    "transient",
    "server",
)
TASK_STATES: tuple[str, ...] = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "timed_out",
)
TERMINAL_STATES: tuple[str, ...] = ("succeeded", "failed", "cancelled", "timed_out")
AUTH_KINDS: tuple[str, ...] = ("api_key_header", "basic_app_key", "none")


class _NoDefault:
    """Marks a parameter without a documented default (None is a value some APIs take)."""

    _instance: _NoDefault | None = None

    def __new__(cls) -> _NoDefault:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_DEFAULT"

    def __bool__(self) -> bool:
        return False


NO_DEFAULT: Any = _NoDefault()


@attrs.frozen
class Param:
    """One request parameter, with every constraint the vendor documents."""

    name: str
    """The key on the wire."""
    python_name: str
    """The keyword argument and attribute name (differs when the wire name is not an identifier)."""
    type: ParamType
    required: bool
    description: str = ""
    items: ItemType | None = None
    enum: tuple[Any, ...] | None = None
    default: Any = NO_DEFAULT
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    pattern: str | None = None
    format: str | None = None
    location: Literal["body", "path"] = "body"
    limits: Mapping[str, Any] = attrs.field(factory=dict)
    """Documented but unenforced facts: file formats, sizes, resolutions, aspect ratios."""
    value_labels: Mapping[str, str] = attrs.field(factory=dict)
    note: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    @property
    def type_label(self) -> str:
        return f"array<{self.items}>" if self.type == "array" else self.type


@attrs.frozen
class Operation:
    provider: str
    id: str
    """Public, stable id used by the library and the CLI."""
    name: str
    """The vendor's own name for it."""
    kind: Kind
    output: Output
    method: str
    path: str
    """Relative to the provider's base URL; may hold {placeholders} for path parameters."""
    params: tuple[Param, ...]
    description: str = ""
    model_code: str | None = None
    source: str = ""
    notes: tuple[str, ...] = ()
    vendor_id: int | None = None
    vendor_status: int | None = None
    """Media.io's per-entry `status` field (1 for all but one entry), exposed as is."""
    vendor_codes: Mapping[str, str] = attrs.field(factory=dict)
    """Status codes this operation's docs list, code -> description."""

    @property
    def qualified_id(self) -> str:
        return f"{self.provider}.{self.id}"

    @property
    def path_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "path")

    @property
    def body_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "body")

    def param(self, name: str) -> Param:
        for p in self.params:
            if name in (p.name, p.python_name):
                return p
        raise KeyError(name)


@attrs.frozen
class Credential:
    name: str
    env: tuple[str, ...]
    secret: bool
    required: bool
    header: str | None = None


@attrs.frozen
class Auth:
    kind: str
    credentials: tuple[Credential, ...] = ()


@attrs.frozen
class ResponseShape:
    code_field: str = "code"
    success_code: int = 0
    message_field: str = "msg"
    data_field: str = "data"
    trace_id_field: str | None = None


@attrs.frozen
class ResultEndpoint:
    method: str
    path: str
    task_id_in: Literal["path", "body"]


@attrs.frozen
class TaskProtocol:
    id_field: str
    result: ResultEndpoint
    status_field: str
    result_field: str
    states: Mapping[str, TaskState]
    """Vendor status value (as a string) -> common state."""
    result_encoding: Literal["object", "json_string"] = "object"
    progress_field: str | None = None
    reason_field: str | None = None

    def state_of(self, vendor_status: object) -> TaskState | None:
        return self.states.get(str(vendor_status).strip().lower())


@attrs.frozen
class ErrorCode:
    code: int
    category: ErrorCategory
    retryable: bool
    message: str = ""


@attrs.frozen
class Provider:
    name: str
    title: str
    base_url: str
    credential_hosts: tuple[str, ...]
    download_hosts: tuple[str, ...]
    auth: Auth
    response: ResponseShape
    operations: tuple[Operation, ...]
    request_envelope: str | None = None
    task: TaskProtocol | None = None
    vendor_codes: tuple[ErrorCode, ...] = ()
    http_statuses: tuple[ErrorCode, ...] = ()
    base_url_aliases: tuple[str, ...] = ()
    homepage: str = ""
    source: str = ""

    def operation(self, op_id: str) -> Operation:
        for op in self.operations:
            if op.id == op_id:
                return op
        known = ", ".join(o.id for o in self.operations)
        raise KeyError(f"{self.name} has no operation {op_id!r}; known: {known}")

    def request_body(self, operation: Operation, wire_params: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body for a call: path params removed, wrapped when the vendor wants it."""
        path_names = {p.name for p in operation.path_params}
        body = {k: v for k, v in wire_params.items() if k not in path_names}
        if self.request_envelope is None:
            return body
        return {self.request_envelope: body} if body else {}


@attrs.frozen
class Catalog:
    providers: tuple[Provider, ...]

    def provider(self, name: str) -> Provider:
        for p in self.providers:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.providers)
        raise KeyError(f"no provider {name!r}; known: {known}")

    def operations(self) -> tuple[Operation, ...]:
        return tuple(op for p in self.providers for op in p.operations)
