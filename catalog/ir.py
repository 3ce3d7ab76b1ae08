"""The catalog's intermediate representation: one shape for every source format.

Importers turn vendor exports and our own YAML into these frozen record classes (they behave
as attrs classes do, see `frozen.py`); codegen, the CLI and the runtime read nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ..names import unknown_name
from . import states
from .frozen import Record, field
from .paths import FieldPath

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
# The common task states live in `states.py` (the journal and the CLI read them without the IR).
TASK_STATES = states.TASK_STATES
TERMINAL_STATES = states.TERMINAL_STATES
AUTH_KINDS: tuple[str, ...] = ("api_key", "bearer", "basic", "none", "custom")
LOCATIONS: tuple[str, ...] = ("body", "query", "path")
SUCCESS_STATES = states.SUCCESS_STATES
FAILURE_STATES = states.FAILURE_STATES
COUNT_PARAMS: tuple[str, ...] = ("counts", "qty", "batch_size")
"""Parameters that, by convention, say how many files a call produces."""


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


class Param(Record):
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
    location: Literal["body", "query", "path"] = "body"
    limits: Mapping[str, Any] = field(factory=dict)
    """Documented but unenforced facts: file formats, sizes, resolutions, aspect ratios."""
    value_labels: Mapping[str, str] = field(factory=dict)
    note: str | None = None
    required_if: Mapping[str, tuple[Any, ...]] = field(factory=dict)
    """Required when every named param (wire name) has one of its listed values
    (`x-required-if`; Tomoviee's init_image when control_type is "2")."""

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    @property
    def type_label(self) -> str:
        return f"array<{self.items}>" if self.type == "array" else self.type


class Operation(Record):
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
    vendor_codes: Mapping[str, str] = field(factory=dict)
    """Status codes this operation's docs list, code -> description."""
    count_param: str | None = None
    """The parameter saying how many files the call produces (an integer, or a string of
    digits such as Media.io's counts), when the catalog names one."""

    @property
    def qualified_id(self) -> str:
        return f"{self.provider}.{self.id}"

    @property
    def path_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "path")

    @property
    def body_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "body")

    @property
    def query_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "query")

    @property
    def result_count_param(self) -> str | None:
        """The wire name of the parameter that sets how many files come back: the catalog's
        `count_param`, else the first conventional one (counts, qty, batch_size) it has."""
        if self.count_param is not None:
            return self.count_param
        names = {p.name for p in self.params if p.type in ("integer", "string")}
        return next((n for n in COUNT_PARAMS if n in names), None)

    def param(self, name: str) -> Param:
        for p in self.params:
            if name in (p.name, p.python_name):
                return p
        raise KeyError(name)


class Credential(Record):
    name: str
    env: tuple[str, ...]
    secret: bool
    required: bool
    header: str | None = None
    """A header that carries this credential as is, whatever the auth kind (X-App-Key)."""


class Auth(Record):
    """How requests carry credentials. Kinds: api_key (the `credential` in header or query
    parameter `key_name`), bearer (`Authorization: Bearer <credential>`), basic
    (`Authorization: Basic base64(username:password)`, both credentials), none, and custom
    (a plugin's `mediagen_auth` hook supplies it). Any kind also sends credentials that name
    a `header`."""

    kind: str
    credentials: tuple[Credential, ...] = ()
    credential: str | None = None
    location: Literal["header", "query"] = "header"
    key_name: str | None = None
    username: str | None = None
    password: str | None = None


class Envelope(Record):
    """A response wrapper: `{code, message, data}` with the call's outcome in `code`."""

    code: FieldPath
    success: tuple[int | str, ...]
    message: FieldPath | None = None
    data: FieldPath | None = None
    """None: the whole body is the data."""

    def succeeded(self, code: object) -> bool:
        # Same type and value: false == 0 and "0" != 0 for our purposes. Runs on every answer.
        for ok in self.success:  # noqa: SIM110 (a loop: any() costs two calls more)
            if type(code) is type(ok) and code == ok:
                return True
        return False


class ResponseShape(Record):
    """How answers look. Without an envelope the body is the data, and success is told by
    the HTTP status alone; error details are read at `error_code` / `error_message`."""

    envelope: Envelope | None = None
    error_code: FieldPath | None = None
    error_message: FieldPath | None = None
    trace_id: FieldPath | None = None


class RequestShape(Record):
    """Where a call's non-path parameters go by default, and how a JSON body is wrapped."""

    params_in: Literal["body", "query"] = "body"
    wrap: str | None = None
    """Wrap body parameters as `{wrap: {...}}` (and send `{}` when there are none)."""


class PollEndpoint(Record):
    method: str
    path: str
    task_id_in: Literal["path", "query", "body"]
    task_id_param: str = "task_id"
    """The query parameter or body key carrying the task id (unused for `path`)."""


class TaskProtocol(Record):
    id_field: FieldPath
    """Where the submit answer's data holds the task id."""
    poll: PollEndpoint
    status_field: FieldPath
    states: Mapping[str, TaskState]
    """Vendor status value (as a lower-cased string) -> common state."""
    vendor_states: tuple[tuple[Any, TaskState], ...] = ()
    """The vendor values as the catalog writes them (int or str), in catalog order."""
    result_field: FieldPath | None = None
    """Where the poll data holds the result; None: the whole poll data is the result."""
    result_encoding: Literal["object", "json_string"] = "object"
    progress_field: FieldPath | None = None
    reason_field: FieldPath | None = None

    def state_of(self, vendor_status: object) -> TaskState | None:
        if vendor_status is None or isinstance(vendor_status, Mapping | list):
            return None
        return self.states.get(str(vendor_status).strip().lower())

    def vendor_status(self, state: str) -> Any:
        """The vendor's word for a common state: the first the catalog maps to it."""
        return next(k for k, v in self.vendor_states if v == state)


class ResultUrl(Record):
    path: FieldPath
    kind: Output | None = None
    """The artifacts' kind; None: the operation's output kind."""


class ResultSpec(Record):
    """Where a result's file URLs are: at declared paths, or anywhere inside it."""

    urls: tuple[ResultUrl, ...] = ()
    anywhere: bool = True


class ErrorCode(Record):
    code: int | str
    category: ErrorCategory
    retryable: bool
    message: str = ""


def code_key(code: object) -> str | None:
    """How vendor codes are matched: 40001 and "40001" are the same code; bools are none."""
    if isinstance(code, bool) or not isinstance(code, int | str):
        return None
    return str(code).strip()


class Provider(Record):
    name: str
    title: str
    base_url: str
    credential_hosts: tuple[str, ...]
    download_hosts: tuple[str, ...]
    auth: Auth
    response: ResponseShape
    operations: tuple[Operation, ...]
    request: RequestShape = field(factory=RequestShape)
    task: TaskProtocol | None = None
    results: ResultSpec = field(factory=ResultSpec)
    vendor_codes: tuple[ErrorCode, ...] = ()
    http_statuses: tuple[ErrorCode, ...] = ()
    base_url_aliases: tuple[str, ...] = ()
    homepage: str = ""
    source: str = ""

    def operation(self, op_id: str) -> Operation:
        for op in self.operations:
            if op.id == op_id:
                return op
        known = [o.id for o in self.operations]
        raise KeyError(unknown_name(f"{self.name} operation", op_id, known))

    @property
    def request_envelope(self) -> str | None:
        """The key body parameters are wrapped under, if any."""
        return self.request.wrap

    def request_body(self, operation: Operation, wire_params: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body for a call: only body params, wrapped when the vendor wants it."""
        elsewhere = {p.name for p in operation.params if p.location != "body"}
        body = {k: v for k, v in wire_params.items() if k not in elsewhere}
        if self.request.wrap is None:
            return body
        return {self.request.wrap: body} if body else {}


class Catalog(Record):
    providers: tuple[Provider, ...]

    def provider(self, name: str) -> Provider:
        for p in self.providers:
            if p.name == name:
                return p
        raise KeyError(unknown_name("provider", name, [p.name for p in self.providers]))

    def operations(self) -> tuple[Operation, ...]:
        return tuple(op for p in self.providers for op in p.operations)
