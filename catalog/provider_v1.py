"""Reading `mediagen-provider/1` files: each is checked against the /1 vocabulary, then
rewritten as the equivalent `/2` document, so one reader builds the IR for both.

/1 knew two auth kinds with fixed meanings (api_key_header: the credential's header carries
it; basic_app_key: Basic app_key:app_secret plus X-App-Key), a mandatory integer-coded
envelope, and a result endpoint that takes the task id in the path or under `id_field`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .checks import known_keys, required
from .errors import InvalidEntry, MissingFact

FORMAT = "mediagen-provider/1"
V1_AUTH_KINDS = ("api_key_header", "basic_app_key", "none")
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
_RESPONSE_KEYS = frozenset(
    {"code_field", "success_code", "message_field", "data_field", "trace_id_field"}
)


def upgrade(file: Path, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The /2 document a /1 document means (blocks that did not change are kept as they are)."""
    out = {k: v for k, v in doc.items() if k not in ("format", "request", "response", "task")}
    out["format"] = "mediagen-provider/2"
    out["auth"] = _auth(file, doc.get("auth"))
    request = doc.get("request")
    if request is not None:
        if not isinstance(request, Mapping):
            raise InvalidEntry(file, "request is not a mapping", entry="request")
        known_keys(file, request, "request", frozenset({"envelope"}))
        envelope = request.get("envelope")
        if envelope is not None and not isinstance(envelope, str):
            raise InvalidEntry(
                file, f"request.envelope is {envelope!r}", expected="a key name or null"
            )
        out["request"] = {"wrap": envelope}
    out["response"] = _response(file, doc.get("response"))
    if doc.get("task") is not None:
        out["task"] = _task(file, doc["task"])
    return out


def _auth(file: Path, raw: object) -> Any:
    if not isinstance(raw, Mapping):
        return raw  # the /2 reader reports the missing block
    kind = raw.get("kind")
    if kind not in V1_AUTH_KINDS:
        raise InvalidEntry(
            file, f"auth kind {kind!r}", entry="auth", expected=f"one of {', '.join(V1_AUTH_KINDS)}"
        )
    known_keys(file, raw, "auth", frozenset({"kind", "credentials"}))
    creds = [dict(c) if isinstance(c, Mapping) else c for c in raw.get("credentials") or []]
    required_creds = [c for c in creds if isinstance(c, dict) and c.get("required", True)]
    if kind != "none" and not required_creds:
        raise MissingFact(file, f"auth kind {kind!r} without a required credential", entry="auth")
    if kind == "basic_app_key":
        return {
            "kind": "basic",
            "username": "app_key",
            "password": "app_secret",
            "credentials": creds,
        }
    if kind == "api_key_header":
        key = next((c for c in required_creds if c.get("header")), required_creds[0])
        header = key.pop("header", None)
        if not header:
            raise MissingFact(
                file,
                "the API key credential names no header",
                entry="auth.credentials",
                expected="header: <the header that carries the key>",
            )
        return {
            "kind": "api_key",
            "in": "header",
            "name": header,
            "credential": key.get("name"),
            "credentials": creds,
        }
    return {"kind": "none", "credentials": creds}


def _response(file: Path, raw: object) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise MissingFact(
            file, "no 'response' block", expected="response: {code_field, success_code, ...}"
        )
    known_keys(file, raw, "response", _RESPONSE_KEYS)
    out: dict[str, Any] = {
        "envelope": {
            "code": required(file, raw, "code_field", str, entry="response"),
            "success": [required(file, raw, "success_code", int, entry="response")],
            "message": required(file, raw, "message_field", str, entry="response"),
            "data": required(file, raw, "data_field", str, entry="response"),
        }
    }
    if raw.get("trace_id_field"):
        out["trace_id"] = raw["trace_id_field"]
    return out


def _task(file: Path, raw: object) -> Any:
    if not isinstance(raw, Mapping):
        return raw
    known_keys(file, raw, "task", _TASK_KEYS)
    result = raw.get("result")
    if not isinstance(result, Mapping):
        raise MissingFact(
            file, "no result endpoint", entry="task", expected="result: {method, path, task_id_in}"
        )
    known_keys(file, result, "task.result", frozenset({"method", "path", "task_id_in"}))
    if result.get("task_id_in") not in ("path", "body"):
        raise MissingFact(
            file,
            f"result.task_id_in is {result.get('task_id_in')!r}",
            entry="task",
            expected="'path' or 'body'",
        )
    out = {k: v for k, v in raw.items() if k != "result"}
    out["poll"] = {
        "method": str(result.get("method") or "POST"),
        "path": result.get("path"),
        "task_id_in": result["task_id_in"],
        "task_id_param": raw.get("id_field"),
    }
    return out
