"""Strategies driven by the catalog's provider facts, for plugins to use or extend.

A provider whose protocol the catalog describes fully (auth kind, body envelope, task
endpoint, status vocabulary, error tables) needs little code of its own: its plugin returns
these, and overrides only what its vendor does differently (result shapes, quirks).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast
from urllib.parse import SplitResult, quote, urlsplit

from .catalog.ir import Envelope, ErrorCode, Operation, Provider, TaskProtocol, code_key
from .catalog.paths import WILDCARD, FieldPath
from .defaults import MAX_ANSWER_DEPTH, POLLING, PollSchedule
from .errors import (
    CATEGORY_ERRORS,
    APIError,
    AuthenticationError,
    CallError,
    ConfigurationError,
    InvalidParameterError,
    MalformedResponseError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
    ServerError,
    UnknownTaskStatusError,
)
from .nesting import nested_deeper_than
from .results import Artifact, ArtifactKind, new_artifact
from .strategies import Call, HttpRequest, HttpResponse, TaskStatus, new_request, new_status
from .urls import split_plain


class CatalogAuth:
    """Credentials on a request, as the catalog's auth block says: api_key (header or query
    parameter), bearer, basic, none; plus every credential that names its own header.
    Kind `custom` has no catalog implementation: a plugin's `mediagen_auth` supplies it."""

    def __init__(self, provider: Provider) -> None:
        if provider.auth.kind == "custom":
            # Refused while strategies are resolved: before any request or journal entry.
            raise ConfigurationError(
                f"{provider.name}: auth kind 'custom' needs a plugin that implements "
                "mediagen_auth for it, and none does"
            )
        self.provider = provider

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        auth = self.provider.auth
        out: dict[str, str] = {}
        for cred in auth.credentials:
            value = credentials.get(cred.name)
            if value and cred.header:
                out[cred.header] = value
        if auth.kind == "api_key" and auth.location == "header":
            out[str(auth.key_name)] = credentials[str(auth.credential)]
        elif auth.kind == "bearer":
            out["Authorization"] = f"Bearer {credentials[str(auth.credential)]}"
        elif auth.kind == "basic":
            pair = f"{credentials[str(auth.username)]}:{credentials[str(auth.password)]}"
            out["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        return out

    def query(self, credentials: Mapping[str, str]) -> dict[str, str]:
        """Query-string parameters carrying credentials (an API key `in: query`)."""
        auth = self.provider.auth
        if auth.kind == "api_key" and auth.location == "query":
            return {str(auth.key_name): credentials[str(auth.credential)]}
        return {}


class CatalogTaskStrategy:
    """Submit, poll and status interpretation from the catalog's request and task blocks."""

    _fields: _TaskFields | None = None  # a class default: a subclass need not call __init__
    _plans: dict[int, _RequestPlan]

    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def submit_request(self, op: Operation, params: Mapping[str, Any]) -> HttpRequest:
        try:
            plan = self._plans[id(op)]
        except (AttributeError, KeyError):
            plan = self._plan(op)
        if plan.op is not op:  # another operation at a recycled address
            plan = self._plan(op)
        path = (
            fill_path(op.path, {name: params[name] for name in plan.path_names})
            if plan.path_names
            else op.path
        )
        query = (
            {name: params[name] for name in plan.query_names if name in params}
            if plan.query_names
            else {}
        )
        if plan.no_body:
            body = None
        else:  # as Provider.request_body: the body params, wrapped when the vendor wants it
            elsewhere = plan.elsewhere
            body = (
                {k: v for k, v in params.items() if k not in elsewhere} if elsewhere else {**params}
            )
            wrap = self.provider.request.wrap
            if wrap is not None:
                body = {wrap: body} if body else {}
        return new_request(op.method, path, body, {}, query)

    def _plan(self, op: Operation) -> _RequestPlan:
        """What an operation's requests need from the catalog, read once per operation."""
        plans = self.__dict__.setdefault("_plans", {})
        plan = plans[id(op)] = _RequestPlan(op)
        return plan

    def task_id(self, op: Operation, data: Any) -> str:
        task = self.provider.task or self._task()
        fields = self._fields
        if fields is None or fields.task is not task:
            fields = self._fields = _TaskFields(task, self)
        key = fields.id_key
        value = data.get(key) if key is not None and type(data) is dict else fields.id_first(data)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise MalformedResponseError(
                f"the submit response has no {task.id_field.text!r} in its data: {_clip(data)}"
            )
        return value

    def poll_request(self, op: Operation, task_id: str) -> HttpRequest:
        poll = (self.provider.task or self._task()).poll
        body: dict[str, Any] | None = None if poll.method == "GET" else {}
        if poll.task_id_in == "path":
            around = _ID_PATHS.get(poll.path)
            if around is not None and type(task_id) is str and _UNRESERVED(task_id):
                # fill_path's answer for a path with one {task_id} and an id it would not
                # quote, without its call, the values' dict and _path_value's.
                path = around[0] + task_id + around[1]
            else:
                path = fill_path(poll.path, {"task_id": task_id})
                _remember_id_path(poll.path)
            return new_request(poll.method, path, body, {}, {})
        if poll.task_id_in == "query":
            return HttpRequest(poll.method, poll.path, body, query={poll.task_id_param: task_id})
        return HttpRequest(poll.method, poll.path, {poll.task_id_param: task_id})

    def status(self, op: Operation, data: Any) -> TaskStatus:
        task = self.provider.task or self._task()
        if type(data) is dict:
            fields = self._fields
            if fields is None or fields.task is not task:
                fields = self._fields = _TaskFields(task, self)
            # One-key field paths (the usual catalog) read as dict lookups, as `first` would.
            get = data.get
            key = fields.status_key
            vendor_status = get(key) if key is not None else task.status_field.first(data)
        elif isinstance(data, Mapping):
            fields = None
            vendor_status = task.status_field.first(data)
        else:
            raise MalformedResponseError(f"the task status is not an object: {_clip(data)}")
        if type(vendor_status) is str:  # as state_of reads it
            state = task.states.get(vendor_status.strip().lower())
        else:
            state = task.state_of(vendor_status)
        if state is None:
            word = _clip(vendor_status, 60)
            known = tuple(task.states)
            if vendor_status is None:
                # No status at all: a cut-short or empty answer, retried like any unreadable one.
                raise MalformedResponseError(
                    f"unknown task status {word} (known: {', '.join(known)})"
                )
            raise UnknownTaskStatusError(
                f"unknown task status {word} (known: {', '.join(known)})", word=word, known=known
            )
        payload = None
        if fields is not None:
            if state == "succeeded":
                key = fields.result_key
                found = (
                    data
                    if task.result_field is None
                    else get(key)
                    if key is not None
                    else task.result_field.first(data)
                )
                decode = fields.decode
                payload = found if decode is None else decode(found)
            key = fields.reason_key
            reason = (
                None
                if task.reason_field is None
                else get(key)
                if key is not None
                else task.reason_field.first(data)
            )
            key = fields.progress_key
            progress = (
                None
                if task.progress_field is None
                else get(key)
                if key is not None
                else task.progress_field.first(data)
            )
        else:
            if state == "succeeded":
                found = task.result_field.first(data) if task.result_field else data
                payload = self.decode_result(found)
            reason = task.reason_field.first(data) if task.reason_field else None
            progress = task.progress_field.first(data) if task.progress_field else None
        return new_status(
            state,
            _percent(progress) if task.progress_field else None,
            dict(data),
            payload,
            str(reason) if reason not in (None, "") else None,
            vendor_status,
            None,
        )

    def decode_result(self, value: Any) -> Any:
        task = self.provider.task or self._task()
        if task.result_encoding != "json_string" or not isinstance(value, str):
            return value
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            raise MalformedResponseError(
                f"the task result is not the JSON string the vendor documents: {_clip(value)}"
            ) from None
        refuse_deep(decoded, "the task result")
        return decoded

    def poll_schedule(self, op: Operation) -> PollSchedule:
        return POLLING.get(op.output, POLLING["none"])

    def _task(self) -> TaskProtocol:
        """The task protocol; raises for a provider without one (`provider.task or` comes
        first where it is read on every call: one call less)."""
        if self.provider.task is None:
            raise TypeError(f"{self.provider.name} has no task protocol")
        return self.provider.task


class CatalogResults:
    """Artifacts at the catalog's declared result paths (a URL or a list of URLs at each,
    of the declared kind), or every URL anywhere in the result when it says `anywhere`."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def artifacts(self, op: Operation, payload: Any) -> tuple[Artifact, ...]:
        spec = self.provider.results
        if spec.anywhere:
            kind: ArtifactKind = op.output if op.output != "none" else "other"  # output_kind
            # Every string, not only those `_URL` matches: unique_artifacts drops any that is
            # not an http(s) URL with a host (none of them matches `_URL`), and the usual
            # one, a URL, is read once instead of twice.
            return unique_artifacts(_stripped_strings(payload), kind)
        found: list[Artifact] = []
        for declared in spec.urls:
            urls: list[str] = []
            for value in declared.path.values(payload):
                if isinstance(value, str):
                    urls.append(value)
                elif isinstance(value, list):
                    urls.extend(v for v in value if isinstance(v, str))
            kind = cast(ArtifactKind, declared.kind) if declared.kind else output_kind(op)
            found.extend(unique_artifacts(urls, kind))
        return tuple(dict((a.url, a) for a in found).values())


class CatalogErrorClassifier:
    """Tells success from failure (HTTP status, and the envelope's code when there is one)
    and maps failures to the error tree through the catalog's code and status tables."""

    _keys: _EnvelopeKeys | None = None
    """The envelope, its code and data paths as plain keys, its success codes as (type,
    value) pairs, and whether `data_of` is this class's (see `_envelope_keys`)."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.vendor_codes = {code_key(c.code): c for c in provider.vendor_codes}
        self.http_statuses = {c.code: c for c in provider.http_statuses}

    def check(self, call: Call, response: HttpResponse) -> Any:
        try:
            body = response.json()
            raw = response.body
            # As _may_nest_deeper, inline: it runs on every answer.
            if len(raw) > _SHALLOW_BYTES and raw.count(b"[") + raw.count(b"{") > MAX_ANSWER_DEPTH:
                refuse_deep(body, "the answer")
        except MalformedResponseError as exc:
            if response.status >= 400:
                raise self.http_error(call, response, None) from None
            exc.status = exc.status if exc.status is not None else response.status
            raise self._located(exc, call) from None
        if response.status >= 400:
            raise self.http_error(call, response, body)
        envelope = self.provider.response.envelope
        if envelope is None:
            return body
        keys = None
        if type(body) is dict:
            # A one-key code path (the usual catalog) read as a dict lookup, as `first` would.
            keys = self._keys
            if keys is None or keys[0] is not envelope:
                keys = self._keys = self._envelope_keys(envelope)
            key = keys[1]
            code = body.get(key) if key is not None else envelope.code.first(body)
            try:  # as Envelope.succeeded: the same type and value as a success code
                succeeded = (type(code), code) in keys[3]
            except TypeError:  # an unhashable code
                succeeded = envelope.succeeded(code)
        elif isinstance(body, Mapping):
            succeeded = envelope.succeeded(envelope.code.first(body))
        else:
            raise self._located(
                MalformedResponseError(f"expected a JSON object, got {_clip(body)}"), call
            )
        if not succeeded:
            if self.accept_failed_code(call, body):
                return self.data_of(body)
            raise self.vendor_error(call, response, body)
        if keys is not None and keys[4] and keys[2] is not None:
            return body.get(keys[2])  # as this class's data_of reads a dict
        return self.data_of(body)

    def data_of(self, body: Mapping[str, Any]) -> Any:
        """The payload inside an envelope (the whole body when the envelope names none)."""
        envelope = self.provider.response.envelope
        if envelope is None or envelope.data is None:
            return body
        if type(body) is dict:
            keys = self._keys
            if keys is None or keys[0] is not envelope:
                keys = self._keys = self._envelope_keys(envelope)
            if keys[2] is not None:
                return body.get(keys[2])
        return envelope.data.first(body)

    def _envelope_keys(self, envelope: Envelope) -> _EnvelopeKeys:
        """What `check` reads from an envelope on every answer, and whether `data_of` is this
        class's own (then `check` reads the data key itself)."""
        success = frozenset((type(ok), ok) for ok in envelope.success)
        own_data_of = type(self).data_of is CatalogErrorClassifier.data_of
        return envelope, _plain_key(envelope.code), _plain_key(envelope.data), success, own_data_of

    def accept_failed_code(self, call: Call, body: Mapping[str, Any]) -> bool:
        """Whether a body with a non-success code still carries usable data (vendor quirks)."""
        return False

    def vendor_error(
        self, call: Call, response: HttpResponse, body: Mapping[str, Any]
    ) -> CallError:
        shape = self.provider.response
        code = shape.error_code.first(body) if shape.error_code else None
        if code is None:
            where = shape.error_code.text if shape.error_code else "code"
            return self._located(
                MalformedResponseError(f"the response has no {where!r}: {_clip(body)}"), call
            )
        return self._build(call, response, body, self.vendor_codes.get(code_key(code)), code=code)

    def http_error(self, call: Call, response: HttpResponse, body: Any) -> CallError:
        shape = self.provider.response
        code = shape.error_code.first(body) if shape.error_code else None
        entry = self.vendor_codes.get(code_key(code)) or self.http_statuses.get(response.status)
        return self._build(
            call, response, body if isinstance(body, Mapping) else None, entry, code=code
        )

    def _build(
        self,
        call: Call,
        response: HttpResponse,
        body: Mapping[str, Any] | None,
        entry: ErrorCode | None,
        *,
        code: Any,
    ) -> CallError:
        shape = self.provider.response
        vendor_message = None
        trace_id = None
        if body is not None:
            msg = shape.error_message.first(body) if shape.error_message else None
            vendor_message = str(msg) if msg not in (None, "") else None
            trace = shape.trace_id.first(body) if shape.trace_id else None
            if trace not in (None, "") and not isinstance(trace, Mapping | list):
                trace_id = str(trace)
        cls: type[APIError] = (
            CATEGORY_ERRORS[entry.category] if entry else _by_status(response.status)
        )
        if body is None and response.status >= 400:
            snippet = response.body[:80].decode("utf-8", "replace").strip()
            detail = f"the vendor answered HTTP {response.status} with a non-JSON body {snippet!r}"
        elif vendor_message:
            detail = vendor_message
        elif response.status >= 400:
            detail = f"the vendor answered HTTP {response.status}"
        else:
            detail = f"the vendor answered code {code}"
        known = entry.message if entry is not None and entry.message else None
        same = known is not None and detail is not None and detail.lower() == known.lower()
        summary = f"{known}: {detail}" if known and detail and not same else (known or detail)
        kwargs: dict[str, Any] = {
            "provider": self.provider.name,
            "operation": call.operation.id,
            "task_id": call.task_id,
            "code": code if isinstance(code, int | str) and not isinstance(code, bool) else None,
            "vendor_message": vendor_message,
            "trace_id": trace_id,
            "status": response.status,
            "retryable": entry.retryable if entry is not None else None,
        }
        if cls is RateLimitError:
            kwargs["retry_after"] = retry_after(response.headers)
        return cls(summary, **kwargs)

    def _located(self, error: CallError, call: Call) -> CallError:
        return error.locate(self.provider.name, call.operation.id, call.task_id)


class _TaskFields:
    """The one-key field paths of a task protocol (`status`, not `data.status`), read on every
    poll as plain dict lookups; None where a path has more steps (read with `first`)."""

    __slots__ = (
        "decode",
        "id_first",
        "id_key",
        "progress_key",
        "reason_key",
        "result_key",
        "status_key",
        "task",
    )

    def __init__(self, task: TaskProtocol, strategy: CatalogTaskStrategy) -> None:
        self.task = task
        # The strategy's decode_result, or None where it is this module's and gives the
        # value as it is (a result not sent as a JSON string): one call less per result.
        self.decode: Callable[[Any], Any] | None = (
            None
            if type(strategy).decode_result is CatalogTaskStrategy.decode_result
            and "decode_result" not in vars(strategy)
            and task.result_encoding != "json_string"
            else strategy.decode_result
        )
        self.id_first = task.id_field.first
        self.id_key = _plain_key(task.id_field)
        self.status_key = _plain_key(task.status_field)
        self.result_key = _plain_key(task.result_field)
        self.reason_key = _plain_key(task.reason_field)
        self.progress_key = _plain_key(task.progress_field)


class _RequestPlan:
    """What an operation's submit request takes from the catalog: the names of its path and
    query parameters, and whether it has a body."""

    __slots__ = ("elsewhere", "no_body", "op", "path_names", "query_names")

    def __init__(self, op: Operation) -> None:
        self.op = op  # kept: the plan is found by the operation's id
        self.path_names = tuple(p.name for p in op.path_params)
        self.query_names = tuple(p.name for p in op.query_params)
        self.no_body = op.method in ("GET", "HEAD")
        self.elsewhere = frozenset(p.name for p in op.params if p.location != "body")


_EnvelopeKeys = tuple[Envelope, str | None, str | None, frozenset[tuple[type, Any]], bool]


def _plain_key(path: FieldPath | None) -> str | None:
    """The key of a field path that is one plain key (its `first` on a dict is `dict.get`)."""
    if path is None or len(path.steps) != 1:
        return None
    (step,) = path.steps
    return step if type(step) is str and step != WILDCARD else None


def refuse_deep(value: Any, what: str) -> None:
    """Raise MalformedResponseError when a decoded vendor value nests deeper than
    MAX_ANSWER_DEPTH: no documented answer does, and such a value could not be journaled (polls
    retry a malformed answer; a submit's becomes an unknown outcome)."""
    if nested_deeper_than(value, MAX_ANSWER_DEPTH):
        raise MalformedResponseError(
            f"{what} nests deeper than {MAX_ANSWER_DEPTH} levels; refused as malformed"
        )


def _may_nest_deeper(body: bytes) -> bool:
    """Whether a JSON text could nest deeper than MAX_ANSWER_DEPTH: each level opens with a
    bracket, so a text with fewer brackets in all cannot (the usual answer), and the decoded
    value need not be walked; nor can a text too short to hold that many brackets and their
    closing ones (a short answer is not even counted)."""
    return len(body) > _SHALLOW_BYTES and body.count(b"[") + body.count(b"{") > MAX_ANSWER_DEPTH


_SHALLOW_BYTES = 2 * MAX_ANSWER_DEPTH
"""A JSON text (in any encoding) nesting deeper than MAX_ANSWER_DEPTH opens and closes more
than that many levels: it is longer than this many bytes."""


_CASE_INSENSITIVE = frozenset({"CIMultiDictProxy", "CIMultiDict"})
"""multidict's case-insensitive header mappings (aiohttp's), known by name: importing
multidict here would slow down the start-up of commands that send nothing."""


def _by_status(status: int) -> type[APIError]:
    if status == 429:
        return RateLimitError
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 413:
        return PayloadTooLargeError
    if status in (400, 422):
        return InvalidParameterError
    if status >= 500:
        return ServerError
    return APIError


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = headers.get("Retry-After")
    if value is None:
        if type(headers).__name__ in _CASE_INSENSITIVE:
            return None  # the lookup above was the search
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        if value is None:
            return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        seconds = None
    if seconds is not None:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        from datetime import UTC, datetime
        from email.utils import parsedate_to_datetime  # rarely needed; slow to import

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


_URL = re.compile(r"^https?://", re.I)
_SPACE = re.compile(r"\s")
_EXTENSIONS: dict[str, ArtifactKind] = {
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".webp": "image",
    ".gif": "image",
    ".mp4": "video",
    ".mov": "video",
    ".webm": "video",
    ".mp3": "audio",
    ".wav": "audio",
    ".m4a": "audio",
    ".aac": "audio",
    ".flac": "audio",
    ".svg": "diagram",
}


_BARE_EXTENSIONS = {ext[1:]: kind for ext, kind in _EXTENSIONS.items()}
"""_EXTENSIONS without their dots."""


def is_http_url(value: object) -> bool:
    """An absolute http(s) URL with a host, that the standard parser can read."""
    return isinstance(value, str) and _http_parts(value) is not None


def _http_parts(value: str) -> SplitResult | None:
    """The parts of an absolute http(s) URL with a host and no whitespace, else None: parsed
    once, so the artifact's kind is read from the same parse."""
    if not _URL.match(value) or _SPACE.search(value):
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. "http://[x": an unterminated IPv6 literal
        return None
    return parts if host else None


def iter_urls(value: Any) -> Iterator[str]:
    """Every http(s) URL anywhere inside a JSON value, depth first, in document order."""
    return (text for text in _stripped_strings(value) if is_http_url(text))


def _stripped_strings(value: Any) -> list[str]:
    """Every string inside a JSON value, stripped, depth first, in document order."""
    if isinstance(value, str):
        return [value.strip()]
    found: list[str] = []
    kind = type(value)
    if kind is dict or kind is list or _is_object(value) or isinstance(value, list | tuple):
        _collect_stripped(value, found)
    return found


def _collect_stripped(container: Any, found: list[str]) -> None:
    """Append the stripped strings inside a mapping, list or tuple to `found`; one call per
    container rather than one per value (most values are strings)."""
    kind = type(container)
    items = (
        container.values()
        if kind is dict
        else container
        if kind is list or kind is tuple or not _is_object(container)
        else container.values()
    )
    for item in items:
        kind = type(item)
        if kind is str:
            found.append(item.strip())
        elif kind is dict or kind is list:
            _collect_stripped(item, found)
        elif kind in _SCALARS:
            continue
        elif isinstance(item, str):
            found.append(item.strip())
        elif isinstance(item, Mapping | list | tuple):
            _collect_stripped(item, found)


_SCALARS = frozenset({int, float, bool, type(None)})
"""The JSON values that hold no string, skipped without an isinstance check."""


def _is_object(value: Any) -> bool:
    """isinstance(value, Mapping), the usual dict first: the ABC check costs two calls."""
    return type(value) is dict or isinstance(value, Mapping)


def kind_for(url: str, default: ArtifactKind) -> ArtifactKind:
    """An artifact's kind from its URL's extension, else the operation's output kind."""
    return _kind_of_path(urlsplit(url).path, default)


def _kind_of_path(path: str, default: ArtifactKind) -> ArtifactKind:
    # Every extension has one dot: the path ends with one exactly when its text after the
    # last dot is the extension's. (That text lower-cased alone: the whole path's `lower()`
    # gives the same text after the same dot, but for a final sigma, in no extension.)
    _, dot, ext = path.rpartition(".")
    kind = _BARE_EXTENSIONS.get(ext.lower()) if dot else None
    if kind is None:
        return default
    return kind if default not in ("mask", "diagram") else default


def output_kind(op: Operation) -> ArtifactKind:
    return op.output if op.output != "none" else "other"


def unique_artifacts(urls: Iterable[str], default: ArtifactKind) -> tuple[Artifact, ...]:
    """One artifact per distinct http(s) URL; anything that is not one is dropped."""
    seen: dict[str, Artifact] = {}
    for url in urls:
        if url in seen or not isinstance(url, str):
            continue
        plain = split_plain(url)  # the usual URL, read as urlsplit reads it
        if plain is not None:
            path = plain[2]
        else:
            parts = _http_parts(url)
            if parts is None:
                continue
            path = parts.path
        seen[url] = new_artifact(url, _kind_of_path(path, default), None, None)
    return tuple(seen.values())


def fill_path(template: str, values: Mapping[str, Any]) -> str:
    """A path with its {placeholders} filled, each value URL-encoded (no `/` injection).

    A vendor's task id may hold a lone surrogate (JSON allows `"\\ud800"`): it is sent as the
    bytes it came as (surrogatepass), so the task is polled as the vendor named it, rather
    than refused after it was paid for."""
    if "{" not in template:  # most operation paths: nothing to fill
        return template
    pieces = _TEMPLATES.get(template)
    if pieces is None:
        # Literal text and placeholder names, alternating: split once per template.
        pieces = _TEMPLATES[template] = tuple(_PLACEHOLDER.split(template))
    if len(pieces) == 3:  # one placeholder, as a poll path has
        return pieces[0] + _path_value(values[pieces[1]]) + pieces[2]
    filled = [pieces[0]]
    for index in range(1, len(pieces), 2):
        filled.append(_path_value(values[pieces[index]]))
        filled.append(pieces[index + 1])
    return "".join(filled)


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_TEMPLATES: dict[str, tuple[str, ...]] = {}
"""Path template -> its pieces (see fill_path); templates come from the catalogs."""

_ID_PATHS: dict[str, tuple[str, str]] = {}
"""Poll path template with exactly one placeholder, `{task_id}` -> the text before and after
it (see `CatalogTaskStrategy.poll_request`); templates come from the catalogs."""


def _remember_id_path(template: str) -> None:
    pieces = _TEMPLATES.get(template)
    if pieces is not None and len(pieces) == 3 and pieces[1] == "task_id":
        _ID_PATHS[template] = (pieces[0], pieces[2])


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch
"""Text that `quote(..., safe="")` leaves as it is (its always-safe characters)."""


def _path_value(value: Any) -> str:
    if type(value) is str and _UNRESERVED(value):  # the usual task id: nothing to quote
        return value
    return quote(str(value).encode("utf-8", "surrogatepass"), safe="")


def _percent(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(number):
        return None
    return max(0.0, min(100.0, number))


def _clip(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
