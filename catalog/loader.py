"""Load a catalog directory: one folder per provider, each with a `provider.yaml`.

The provider file holds provider-level facts and names the operations file plus its format;
an importer per format turns that into IR. Cross-checks that need both (path parameters,
endpoint hosts) run here, once, whatever the format.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import DuplicateName, InvalidEntry, MissingFact, UnboundPathParam
from .files import read_data
from .importers import ImportContext, importers, placeholders
from .ir import (
    AUTH_KINDS,
    ERROR_CATEGORIES,
    TASK_STATES,
    Auth,
    Catalog,
    Credential,
    ErrorCode,
    Operation,
    Provider,
    ResponseShape,
    ResultEndpoint,
    TaskProtocol,
)

PROVIDER_FILE = "provider.yaml"
FORMAT = "mediagen-provider/1"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TASK_KEYS = frozenset(
    {
        "id_field",
        "result",
        "status_field",
        "result_field",
        "states",
        "result_encoding",
        "progress_field",
        "reason_field",
    }
)
_TOP_KEYS = frozenset(
    {
        "format",
        "name",
        "title",
        "homepage",
        "source",
        "base_url",
        "base_url_aliases",
        "credential_hosts",
        "download_hosts",
        "auth",
        "request",
        "response",
        "task",
        "errors",
        "operations",
    }
)


def default_root() -> Path:
    """The catalog shipped with the package (this folder)."""
    return Path(__file__).resolve().parent


@functools.cache
def default_catalog() -> Catalog:
    return load_catalog(default_root())


def load_catalog_source(spec: str, working: Path) -> Catalog | dict[str, Any]:
    """A catalog named the ways `mediagen diff` accepts: a catalog or provider folder, one
    operations file (read with `working`'s provider facts), a generate snapshot (returned as
    its plain data) or `git:REV` (`working` as committed at REV). See `sources.py`."""
    from .sources import load_source

    return load_source(spec, working)


def load_catalog(root: Path) -> Catalog:
    root = Path(root)
    if not root.is_dir():
        raise MissingFact(root, "catalog directory not found")
    folders = sorted(p.parent for p in root.glob(f"*/{PROVIDER_FILE}"))
    if not folders:
        raise MissingFact(root, f"no provider folders (none has a {PROVIDER_FILE})")
    providers = [load_provider(folder / PROVIDER_FILE) for folder in folders]
    seen: dict[str, Path] = {}
    for folder, provider in zip(folders, providers, strict=True):
        if provider.name in seen:
            raise DuplicateName(
                folder / PROVIDER_FILE,
                f"provider name {provider.name!r} also used by {seen[provider.name]}",
            )
        seen[provider.name] = folder / PROVIDER_FILE
    return Catalog(providers=tuple(providers))


def load_provider(file: Path) -> Provider:
    doc = read_data(file)
    if not isinstance(doc, Mapping):
        raise MissingFact(file, "is not a mapping", expected=f"a document with format: {FORMAT}")
    if doc.get("format") != FORMAT:
        raise InvalidEntry(file, f"format is {doc.get('format')!r}", expected=repr(FORMAT))
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise InvalidEntry(
            file, f"unknown keys {sorted(unknown)}", expected=", ".join(sorted(_TOP_KEYS))
        )

    name = _required(file, doc, "name", str)
    if not _NAME.match(name):
        raise InvalidEntry(
            file, f"provider name {name!r}", expected="lowercase letters, digits and _"
        )
    if name != file.parent.name:
        raise InvalidEntry(
            file,
            f"provider name {name!r} differs from its folder {file.parent.name!r}",
            expected="the folder's name",
        )
    base_url = _https_url(file, "base_url", _required(file, doc, "base_url", str))
    aliases = tuple(
        _https_url(file, "base_url_aliases", u) for u in _str_list(file, doc, "base_url_aliases")
    )
    credential_hosts = _str_list(file, doc, "credential_hosts", required=True)
    for url in (base_url, *aliases):
        host = urlsplit(url).hostname or ""
        if host not in credential_hosts:
            raise InvalidEntry(
                file,
                f"base URL host {host!r} is not in credential_hosts",
                expected=f"one of {credential_hosts}",
            )

    operations_spec = doc.get("operations")
    if not isinstance(operations_spec, Mapping):
        raise MissingFact(
            file, "no 'operations' block", expected="operations: {format: ..., file: ...}"
        )
    fmt = operations_spec.get("format")
    registry = importers()
    if fmt not in registry:
        raise InvalidEntry(
            file, f"operations format {fmt!r}", expected=f"one of {', '.join(sorted(registry))}"
        )
    ops_file = file.parent / _required(file, operations_spec, "file", str, entry="operations")
    ctx = ImportContext(provider=name, base_urls=(base_url, *aliases), options=operations_spec)
    operations = registry[fmt](ops_file, ctx)
    for op in operations:
        _check_operation(ops_file, op)

    task = _task(file, doc.get("task"))
    if task is None and any(op.kind == "task" for op in operations):
        raise MissingFact(
            file,
            "operations of kind 'task' but no 'task' block",
            expected="task: {id_field, result, states, ...}",
        )

    return Provider(
        name=name,
        title=_required(file, doc, "title", str),
        base_url=base_url,
        base_url_aliases=aliases,
        credential_hosts=credential_hosts,
        download_hosts=_str_list(file, doc, "download_hosts", required=True),
        auth=_auth(file, doc.get("auth")),
        response=_response(file, doc.get("response")),
        request_envelope=_request_envelope(file, doc.get("request")),
        task=task,
        vendor_codes=_codes(file, doc.get("errors"), "vendor_codes", "code"),
        http_statuses=_codes(file, doc.get("errors"), "http_statuses", "status"),
        operations=operations,
        homepage=str(doc.get("homepage") or ""),
        source=str(doc.get("source") or ""),
    )


def _check_operation(file: Path, op: Operation) -> None:
    label = f"operation {op.id!r}"
    if not _NAME.match(op.id) or keyword.iskeyword(op.id):
        raise InvalidEntry(
            file,
            f"operation id {op.id!r} is not usable as a Python method name",
            entry=label,
            expected="lowercase letters, digits and _, starting with a letter (rename the entry)",
        )
    names = {p.name for p in op.params}
    unbound = sorted(placeholders(op.path) - names)
    if unbound:
        raise UnboundPathParam(
            file,
            f"path {op.path!r} has placeholder(s) {unbound} with no parameter",
            entry=label,
            expected="a parameter for each {placeholder}",
        )


def _known_keys(file: Path, block: Mapping[str, Any], entry: str, allowed: frozenset[str]) -> None:
    """Refuse keys the loader would otherwise ignore: a typo must not pass silently."""
    unknown = set(block) - allowed
    if unknown:
        raise InvalidEntry(
            file,
            f"unknown keys {sorted(unknown)}",
            entry=entry,
            expected=", ".join(sorted(allowed)),
        )


def _task(file: Path, raw: object) -> TaskProtocol | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise MissingFact(file, "task is not a mapping", entry="task")
    _known_keys(file, raw, "task", _TASK_KEYS)
    result = raw.get("result")
    if not isinstance(result, Mapping):
        raise MissingFact(
            file, "no result endpoint", entry="task", expected="result: {method, path, task_id_in}"
        )
    _known_keys(file, result, "task.result", frozenset({"method", "path", "task_id_in"}))
    task_id_in = result.get("task_id_in")
    if task_id_in not in ("path", "body"):
        raise MissingFact(
            file, f"result.task_id_in is {task_id_in!r}", entry="task", expected="'path' or 'body'"
        )
    path = _required(file, result, "path", str, entry="task.result")
    if task_id_in == "path" and "{task_id}" not in path:
        raise UnboundPathParam(
            file, f"result path {path!r} has no {{task_id}}", entry="task.result"
        )
    states = raw.get("states")
    if not isinstance(states, Mapping) or not states:
        raise MissingFact(
            file,
            "no status vocabulary",
            entry="task",
            expected="states: {vendor value: common state}",
        )
    bad = {k: v for k, v in states.items() if v not in TASK_STATES}
    if bad:
        raise InvalidEntry(
            file,
            f"states map to unknown common states {bad}",
            entry="task.states",
            expected=f"one of {', '.join(TASK_STATES)}",
        )
    if "succeeded" not in states.values():
        raise MissingFact(file, "no vendor status maps to 'succeeded'", entry="task.states")
    encoding = raw.get("result_encoding", "object")
    if encoding not in ("object", "json_string"):
        raise InvalidEntry(
            file,
            f"result_encoding {encoding!r}",
            entry="task",
            expected="'object' or 'json_string'",
        )
    return TaskProtocol(
        id_field=_required(file, raw, "id_field", str, entry="task"),
        result=ResultEndpoint(
            method=str(result.get("method") or "POST").upper(), path=path, task_id_in=task_id_in
        ),
        status_field=_required(file, raw, "status_field", str, entry="task"),
        result_field=_required(file, raw, "result_field", str, entry="task"),
        states={str(k).lower(): v for k, v in states.items()},
        result_encoding=encoding,
        progress_field=raw.get("progress_field"),
        reason_field=raw.get("reason_field"),
    )


def _auth(file: Path, raw: object) -> Auth:
    if not isinstance(raw, Mapping):
        raise MissingFact(file, "no 'auth' block", expected="auth: {kind, credentials}")
    kind = raw.get("kind")
    if kind not in AUTH_KINDS:
        raise InvalidEntry(
            file, f"auth kind {kind!r}", entry="auth", expected=f"one of {', '.join(AUTH_KINDS)}"
        )
    _known_keys(file, raw, "auth", frozenset({"kind", "credentials"}))
    creds = []
    for index, c in enumerate(raw.get("credentials") or []):
        where = f"auth.credentials[{index}]"
        if not isinstance(c, Mapping):
            raise InvalidEntry(file, "is not a mapping", entry=where)
        _known_keys(file, c, where, frozenset({"name", "env", "secret", "required", "header"}))
        env = c.get("env")
        if not isinstance(env, list) or not env or not all(isinstance(e, str) for e in env):
            raise MissingFact(
                file, "no environment variable names", entry=where, expected="env: [NAME, ...]"
            )
        creds.append(
            Credential(
                name=_required(file, c, "name", str, entry=where),
                env=tuple(env),
                secret=bool(c.get("secret", True)),
                required=bool(c.get("required", True)),
                header=c.get("header"),
            )
        )
    if kind != "none" and not any(c.required for c in creds):
        raise MissingFact(file, f"auth kind {kind!r} without a required credential", entry="auth")
    return Auth(kind=kind, credentials=tuple(creds))


def _response(file: Path, raw: object) -> ResponseShape:
    if not isinstance(raw, Mapping):
        raise MissingFact(
            file, "no 'response' block", expected="response: {code_field, success_code, ...}"
        )
    _known_keys(
        file,
        raw,
        "response",
        frozenset({"code_field", "success_code", "message_field", "data_field", "trace_id_field"}),
    )
    return ResponseShape(
        code_field=_required(file, raw, "code_field", str, entry="response"),
        success_code=_required(file, raw, "success_code", int, entry="response"),
        message_field=_required(file, raw, "message_field", str, entry="response"),
        data_field=_required(file, raw, "data_field", str, entry="response"),
        trace_id_field=raw.get("trace_id_field"),
    )


def _request_envelope(file: Path, raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidEntry(file, "request is not a mapping", entry="request")
    _known_keys(file, raw, "request", frozenset({"envelope"}))
    envelope = raw.get("envelope")
    if envelope is not None and not isinstance(envelope, str):
        raise InvalidEntry(file, f"request.envelope is {envelope!r}", expected="a key name or null")
    return envelope


def _codes(file: Path, raw: object, key: str, code_key: str) -> tuple[ErrorCode, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise InvalidEntry(file, "errors is not a mapping", entry="errors")
    _known_keys(file, raw, "errors", frozenset({"vendor_codes", "http_statuses"}))
    out: list[ErrorCode] = []
    seen: set[int] = set()
    for index, item in enumerate(raw.get(key) or []):
        where = f"errors.{key}[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidEntry(file, "is not a mapping", entry=where)
        _known_keys(file, item, where, frozenset({code_key, "category", "retryable", "message"}))
        code = _required(file, item, code_key, int, entry=where)
        if code in seen:
            raise DuplicateName(file, f"{code_key} {code} is listed twice", entry=where)
        seen.add(code)
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


def _required(
    file: Path, doc: Mapping[str, Any], key: str, kind: type, *, entry: str | None = None
) -> Any:
    value = doc.get(key)
    if value is None or (kind is str and value == ""):
        raise MissingFact(file, f"missing {key!r}", entry=entry, expected=f"a {kind.__name__}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidEntry(file, f"{key} is {value!r}", entry=entry, expected=f"a {kind.__name__}")
    return value


def _str_list(
    file: Path, doc: Mapping[str, Any], key: str, *, required: bool = False
) -> tuple[str, ...]:
    value = doc.get(key)
    if value is None and not required:
        return ()
    if (
        not isinstance(value, list)
        or not all(isinstance(v, str) for v in value)
        or (required and not value)
    ):
        raise MissingFact(
            file,
            f"{key} is {value!r}",
            expected="a non-empty list of strings" if required else "a list of strings",
        )
    return tuple(value)


def _https_url(file: Path, key: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidEntry(
            file, f"{key} {url!r} is not an https URL", expected="https://host[/path]"
        )
    return url.rstrip("/")
