"""Readers for the blocks of a `mediagen-provider/2` file: auth, request, response, task,
results and errors. Each turns its block into IR or raises a CatalogError naming the block
(`auth`, `task.poll`, `errors.vendor_codes[2]`, ...), the problem and what is allowed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .checks import field_path, is_code, known_keys, optional_str, required
from .errors import DuplicateName, InvalidEntry, MissingFact, UnboundPathParam
from .importers import placeholders
from .ir import (
    AUTH_KINDS,
    ERROR_CATEGORIES,
    FAILURE_STATES,
    OUTPUTS,
    SUCCESS_STATES,
    TASK_STATES,
    Auth,
    Credential,
    Envelope,
    ErrorCode,
    PollEndpoint,
    RequestShape,
    ResponseShape,
    ResultSpec,
    ResultUrl,
    TaskProtocol,
    code_key,
)

_AUTH_KEYS_BY_KIND = {
    "api_key": frozenset({"credential", "in", "name"}),
    "bearer": frozenset({"credential"}),
    "basic": frozenset({"username", "password"}),
    "none": frozenset(),
    "custom": frozenset(),
}
_AUTH_COMMON = frozenset({"kind", "credentials"})
_CREDENTIAL_KEYS = frozenset({"name", "env", "secret", "required", "header"})
_TASK_KEYS = frozenset(
    {
        "id_field",
        "poll",
        "status_field",
        "result_field",
        "states",
        "result_encoding",
        "progress_field",
        "reason_field",
    }
)


def read_auth(file: Path, raw: object) -> Auth:
    if not isinstance(raw, Mapping):
        raise MissingFact(file, "no 'auth' block", expected="auth: {kind, credentials, ...}")
    kind = raw.get("kind")
    if kind not in AUTH_KINDS:
        raise InvalidEntry(
            file, f"auth kind {kind!r}", entry="auth", expected=f"one of {', '.join(AUTH_KINDS)}"
        )
    all_keys = _AUTH_COMMON.union(*_AUTH_KEYS_BY_KIND.values())
    known_keys(file, raw, "auth", all_keys)
    foreign = sorted(set(raw) - _AUTH_COMMON - _AUTH_KEYS_BY_KIND[kind])
    if foreign:
        allowed = ", ".join(sorted(_AUTH_KEYS_BY_KIND[kind])) or "only kind and credentials"
        raise InvalidEntry(
            file, f"auth kind {kind!r} takes no {foreign}", entry="auth", expected=allowed
        )
    creds = _credentials(file, raw.get("credentials"))
    by_name = {c.name: c for c in creds}

    def credential(key: str, default: str | None = None) -> str:
        name = raw.get(key, default)
        if name is None:
            raise MissingFact(
                file,
                f"auth kind {kind!r} needs {key!r}",
                entry="auth",
                expected=f"{key}: <one of the credentials' names: {', '.join(by_name) or 'none given'}>",
            )
        if name not in by_name:
            raise InvalidEntry(
                file,
                f"{key} {name!r} is not a credential",
                entry="auth",
                expected=f"one of {', '.join(by_name) or 'the credentials (none given)'}",
            )
        if not by_name[name].required:
            raise InvalidEntry(
                file,
                f"credential {name!r} is what authenticates but is not required",
                entry="auth",
                expected="required: true",
            )
        return str(name)

    sole = creds[0].name if len(creds) == 1 else None
    if kind == "api_key":
        location = raw.get("in", "header")
        if location not in ("header", "query"):
            raise InvalidEntry(
                file, f"in is {location!r}", entry="auth", expected="'header' or 'query'"
            )
        return Auth(
            kind=kind,
            credentials=creds,
            credential=credential("credential", sole),
            location=location,
            key_name=required(file, raw, "name", str, entry="auth"),
        )
    if kind == "bearer":
        return Auth(kind=kind, credentials=creds, credential=credential("credential", sole))
    if kind == "basic":
        return Auth(
            kind=kind,
            credentials=creds,
            username=credential("username"),
            password=credential("password"),
        )
    return Auth(kind=kind, credentials=creds)


def _credentials(file: Path, raw: object) -> tuple[Credential, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidEntry(file, "credentials is not a list", entry="auth")
    creds: list[Credential] = []
    for index, c in enumerate(raw):
        where = f"auth.credentials[{index}]"
        if not isinstance(c, Mapping):
            raise InvalidEntry(file, "is not a mapping", entry=where)
        known_keys(file, c, where, _CREDENTIAL_KEYS)
        env = c.get("env")
        if not isinstance(env, list) or not env or not all(isinstance(e, str) for e in env):
            raise MissingFact(
                file, "no environment variable names", entry=where, expected="env: [NAME, ...]"
            )
        for flag in ("secret", "required"):
            if not isinstance(c.get(flag, True), bool):
                raise InvalidEntry(
                    file, f"{flag} is {c[flag]!r}", entry=where, expected="true or false"
                )
        name = required(file, c, "name", str, entry=where)
        if any(other.name == name for other in creds):
            raise DuplicateName(file, f"credential {name!r} is listed twice", entry=where)
        creds.append(
            Credential(
                name=name,
                env=tuple(env),
                secret=c.get("secret", True),
                required=c.get("required", True),
                header=optional_str(file, c, "header", entry=where),
            )
        )
    return tuple(creds)


def read_request(file: Path, raw: object) -> RequestShape:
    if raw is None:
        return RequestShape()
    if not isinstance(raw, Mapping):
        raise InvalidEntry(file, "request is not a mapping", entry="request")
    known_keys(file, raw, "request", frozenset({"params_in", "wrap"}))
    params_in = raw.get("params_in", "body")
    if params_in not in ("body", "query"):
        raise InvalidEntry(
            file, f"params_in is {params_in!r}", entry="request", expected="'body' or 'query'"
        )
    wrap = optional_str(file, raw, "wrap", entry="request")
    if wrap is not None and params_in == "query":
        raise InvalidEntry(
            file,
            "wrap is set but parameters go in the query string",
            entry="request",
            expected="wrap only with params_in: body",
        )
    return RequestShape(params_in=params_in, wrap=wrap)


def read_response(file: Path, raw: object) -> ResponseShape:
    if raw is None:
        return ResponseShape()
    if not isinstance(raw, Mapping):
        raise InvalidEntry(file, "response is not a mapping", entry="response")
    known_keys(file, raw, "response", frozenset({"envelope", "error", "trace_id"}))
    envelope = None
    env_raw = raw.get("envelope")
    if env_raw is not None:
        where = "response.envelope"
        if not isinstance(env_raw, Mapping):
            raise InvalidEntry(
                file, "is not a mapping", entry=where, expected="{code, success, message, data}"
            )
        known_keys(file, env_raw, where, frozenset({"code", "success", "message", "data"}))
        success = env_raw.get("success")
        success = [success] if is_code(success) else success
        if not isinstance(success, list) or not success or not all(is_code(s) for s in success):
            raise MissingFact(
                file,
                f"success is {env_raw.get('success')!r}",
                entry=where,
                expected="the success code(s): an int, a string or a list of them",
            )
        code = field_path(file, env_raw, "code", entry=where, needed=True)
        assert code is not None
        envelope = Envelope(
            code=code,
            success=tuple(success),
            message=field_path(file, env_raw, "message", entry=where),
            data=field_path(file, env_raw, "data", entry=where),
        )
    error = raw.get("error") or {}
    if not isinstance(error, Mapping):
        raise InvalidEntry(
            file, "is not a mapping", entry="response.error", expected="{code, message}"
        )
    known_keys(file, error, "response.error", frozenset({"code", "message"}))
    return ResponseShape(
        envelope=envelope,
        error_code=field_path(file, error, "code", entry="response.error")
        or (envelope.code if envelope else None),
        error_message=field_path(file, error, "message", entry="response.error")
        or (envelope.message if envelope else None),
        trace_id=field_path(file, raw, "trace_id", entry="response"),
    )


def read_task(file: Path, raw: object) -> TaskProtocol | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise MissingFact(file, "task is not a mapping", entry="task")
    known_keys(file, raw, "task", _TASK_KEYS)
    poll = raw.get("poll")
    if not isinstance(poll, Mapping):
        raise MissingFact(
            file, "no poll endpoint", entry="task", expected="poll: {method, path, task_id_in}"
        )
    known_keys(
        file, poll, "task.poll", frozenset({"method", "path", "task_id_in", "task_id_param"})
    )
    task_id_in = poll.get("task_id_in")
    if task_id_in not in ("path", "query", "body"):
        raise MissingFact(
            file,
            f"task_id_in is {task_id_in!r}",
            entry="task.poll",
            expected="'path', 'query' or 'body'",
        )
    path = required(file, poll, "path", str, entry="task.poll")
    if not path.startswith("/"):
        raise InvalidEntry(
            file,
            f"path {path!r} is not relative to the base URL",
            entry="task.poll",
            expected="a path starting with /",
        )
    if task_id_in == "path" and "{task_id}" not in path:
        raise UnboundPathParam(file, f"poll path {path!r} has no {{task_id}}", entry="task.poll")
    others = sorted(placeholders(path) - {"task_id"})
    if others:
        raise UnboundPathParam(
            file,
            f"poll path {path!r} has placeholder(s) {others}",
            entry="task.poll",
            expected="only {task_id}",
        )
    method = str(poll.get("method") or "GET").upper()
    if method not in ("GET", "POST"):
        raise InvalidEntry(file, f"method {method!r}", entry="task.poll", expected="GET or POST")
    if method == "GET" and task_id_in == "body":
        raise InvalidEntry(
            file,
            "a GET poll cannot carry the task id in a body",
            entry="task.poll",
            expected="task_id_in: path or query, or method: POST",
        )
    states, vendor_states = _states(file, raw.get("states"))
    encoding = raw.get("result_encoding", "object")
    if encoding not in ("object", "json_string"):
        raise InvalidEntry(
            file,
            f"result_encoding {encoding!r}",
            entry="task",
            expected="'object' or 'json_string'",
        )
    id_field = field_path(file, raw, "id_field", entry="task", needed=True)
    status_field = field_path(file, raw, "status_field", entry="task", needed=True)
    assert id_field is not None and status_field is not None
    return TaskProtocol(
        id_field=id_field,
        poll=PollEndpoint(
            method=method,
            path=path,
            task_id_in=task_id_in,
            task_id_param=optional_str(file, poll, "task_id_param", entry="task.poll") or "task_id",
        ),
        status_field=status_field,
        states=states,
        vendor_states=vendor_states,
        result_field=field_path(file, raw, "result_field", entry="task"),
        result_encoding=encoding,
        progress_field=field_path(file, raw, "progress_field", entry="task"),
        reason_field=field_path(file, raw, "reason_field", entry="task"),
    )


def _states(file: Path, raw: object) -> tuple[dict[str, Any], tuple[tuple[Any, Any], ...]]:
    if not isinstance(raw, Mapping) or not raw:
        raise MissingFact(
            file,
            "no status vocabulary",
            entry="task",
            expected="states: {vendor value: common state}",
        )
    bad = {k: v for k, v in raw.items() if v not in TASK_STATES}
    if bad:
        raise InvalidEntry(
            file,
            f"states map to unknown common states {bad}",
            entry="task.states",
            expected=f"one of {', '.join(TASK_STATES)}",
        )
    states: dict[str, Any] = {}
    for vendor in raw:
        if not is_code(vendor):
            raise InvalidEntry(
                file,
                f"vendor status {vendor!r}",
                entry="task.states",
                expected="a string or an int",
            )
        key = str(vendor).strip().lower()
        if key in states:
            raise DuplicateName(
                file,
                f"vendor status {vendor!r} is listed twice",
                entry="task.states",
                expected="each status once (compared as lower-case text)",
            )
        states[key] = raw[vendor]
    if not set(states.values()) & set(SUCCESS_STATES):
        raise MissingFact(file, "no vendor status maps to 'succeeded'", entry="task.states")
    if not set(states.values()) & set(FAILURE_STATES):
        raise MissingFact(
            file,
            "no vendor status maps to a failure",
            entry="task.states",
            expected=f"one of {', '.join(FAILURE_STATES)}",
        )
    return states, tuple(raw.items())


def read_results(file: Path, raw: object) -> ResultSpec:
    if raw is None:
        return ResultSpec()
    if not isinstance(raw, Mapping):
        raise InvalidEntry(file, "results is not a mapping", entry="results")
    known_keys(file, raw, "results", frozenset({"anywhere", "urls"}))
    anywhere, urls = raw.get("anywhere", False), raw.get("urls")
    if not isinstance(anywhere, bool):
        raise InvalidEntry(
            file, f"anywhere is {anywhere!r}", entry="results", expected="true or false"
        )
    if anywhere == (urls is not None):
        raise MissingFact(
            file,
            "results needs exactly one of anywhere: true or urls",
            entry="results",
            expected="anywhere: true, or urls: [{path, kind}, ...]",
        )
    if anywhere:
        return ResultSpec(anywhere=True)
    if not isinstance(urls, list) or not urls:
        raise MissingFact(
            file, "urls is empty", entry="results", expected="urls: [{path, kind}, ...]"
        )
    found: list[ResultUrl] = []
    kinds = [k for k in OUTPUTS if k != "none"]
    for index, item in enumerate(urls):
        where = f"results.urls[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidEntry(file, "is not a mapping", entry=where, expected="{path, kind}")
        known_keys(file, item, where, frozenset({"path", "kind"}))
        kind = item.get("kind")
        if kind is not None and kind not in kinds:
            raise InvalidEntry(
                file, f"kind {kind!r}", entry=where, expected=f"one of {', '.join(kinds)}"
            )
        path = field_path(file, item, "path", entry=where, needed=True)
        assert path is not None
        found.append(ResultUrl(path=path, kind=kind))
    return ResultSpec(urls=tuple(found), anywhere=False)


def read_codes(file: Path, raw: object, key: str, code_key_name: str) -> tuple[ErrorCode, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise InvalidEntry(file, "errors is not a mapping", entry="errors")
    known_keys(file, raw, "errors", frozenset({"vendor_codes", "http_statuses"}))
    out: list[ErrorCode] = []
    seen: set[str] = set()
    for index, item in enumerate(raw.get(key) or []):
        where = f"errors.{key}[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidEntry(file, "is not a mapping", entry=where)
        known_keys(
            file, item, where, frozenset({code_key_name, "category", "retryable", "message"})
        )
        code = item.get(code_key_name)
        if code_key_name == "status":
            code = required(file, item, code_key_name, int, entry=where)
        elif code is None:
            raise MissingFact(
                file, f"missing {code_key_name!r}", entry=where, expected="an int or a string"
            )
        elif not is_code(code):
            raise InvalidEntry(
                file, f"{code_key_name} is {code!r}", entry=where, expected="an int or a string"
            )
        normal = code_key(code)
        assert normal is not None
        if normal in seen:
            raise DuplicateName(file, f"{code_key_name} {code} is listed twice", entry=where)
        seen.add(normal)
        category = item.get("category")
        if category not in ERROR_CATEGORIES:
            raise InvalidEntry(
                file,
                f"category {category!r}",
                entry=where,
                expected=f"one of {', '.join(ERROR_CATEGORIES)}",
            )
        retryable = item.get("retryable")
        if not isinstance(retryable, bool):
            raise MissingFact(file, "retryable is not true/false", entry=where)
        out.append(
            ErrorCode(
                code=code,
                category=category,
                retryable=retryable,
                message=str(item.get("message") or ""),
            )
        )
    return tuple(out)
