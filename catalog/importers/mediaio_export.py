"""Importer for Media.io's own catalog export (`c_api_doc_detail.json`).

The export is a JSON list; `api_body` and friends are JSON documents inside JSON strings, and
constraints live in prose ("Maximum string length: 1200."). This importer lifts that prose
into JSON Schema, keeps file limits as metadata, and tolerates the known glitches (e.g.
`api_code_demo` holding a request demo instead of status codes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import CatalogError, DuplicateName, InvalidEntry, UnknownType
from ..files import parse_embedded_json, read_json
from ..ir import KINDS, OUTPUTS, Operation
from ..schema_params import operation_id, params_from_schema
from . import ImportContext, placeholders

_SCALAR_TYPES = {
    "string": "string",
    "integer": "integer",
    "int": "integer",
    "number": "number",
    "float": "number",
    "boolean": "boolean",
    "bool": "boolean",
}

# "The URL of the input image", "The URLs of the input images": the vendor fetches the value.
_URL_WORDING = re.compile(r"^(?:the|public) urls? of\b", re.I)
_MAX_LENGTH = re.compile(r"Maximum string length:\s*(\d+)", re.I)
_MAX_FILES = re.compile(r"Maximum\s+(\d+)\s+file\(s\)", re.I)
_DEFAULT = re.compile(r"Default is\s+(.+?)\.?\s*$", re.I)
_OPTIONS = re.compile(r"Options:\s*([^.]+(?:\.\d[^.]*)*)\.", re.I)
_FORMATS = re.compile(r"Supported formats include ([^.]+)\.", re.I)
_RANGE = re.compile(
    r"(File size|Image resolution|Video resolution|Aspect ratio|Frame rate|Duration) must be "
    r"between (\d+(?:\.\d+)?(?:[:x]\d+(?:\.\d+)?)?)(?: MB| FPS| seconds)? "
    r"and (\d+(?:\.\d+)?(?:[:x]\d+(?:\.\d+)?)?)",
    re.I,
)
_LIMIT_KEYS = {
    "file size": "file_size_mb",
    "image resolution": "image_resolution",
    "video resolution": "video_resolution",
    "aspect ratio": "aspect_ratio",
    "frame rate": "frame_rate_fps",
    "duration": "duration_s",
}


def load_operations(file: Path, ctx: ImportContext) -> tuple[Operation, ...]:
    data = read_json(file)
    if not isinstance(data, list):
        raise InvalidEntry(file, "the export is not a JSON list", expected="a list of API entries")
    kinds = _mapping_option(file, ctx.options, "kinds")
    outputs = _mapping_option(file, ctx.options, "outputs_by_model_code_prefix")

    operations: list[Operation] = []
    names: dict[str, str] = {}
    ids: dict[str, str] = {}
    for index, entry in enumerate(data):
        label = f"entry #{index}"
        if not isinstance(entry, Mapping):
            raise InvalidEntry(file, "is not an object", entry=label)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidEntry(file, "has no name", entry=label, expected="a non-empty 'name'")
        label = f"entry #{index} {name!r}"
        if name in names:
            raise DuplicateName(
                file,
                f"name {name!r} is used twice ({names[name]} and {label})",
                entry=label,
                expected="unique names (the vendor router refuses duplicates)",
            )
        names[name] = label
        op = _operation(file, label, entry, ctx, kinds, outputs)
        if op.id in ids:
            raise DuplicateName(
                file,
                f"operation id {op.id!r} derived from both {ids[op.id]} and {label}",
                entry=label,
                expected="names that differ in more than punctuation",
            )
        ids[op.id] = label
        operations.append(op)
    return tuple(operations)


def _operation(
    file: Path,
    label: str,
    entry: Mapping[str, Any],
    ctx: ImportContext,
    kinds: Mapping[str, str],
    outputs: Mapping[str, str],
) -> Operation:
    name = str(entry["name"]).strip()
    op_id = operation_id(name)
    path = _relative_path(file, label, entry.get("endpoint"), ctx)
    method = str(entry.get("method") or "POST").upper()
    model_code = entry.get("model_code") or None

    kind = kinds.get(op_id, "task")
    if kind not in KINDS:
        raise InvalidEntry(
            file, f"kind {kind!r} for {op_id!r}", expected=f"one of {', '.join(KINDS)}"
        )
    output = "none"
    if kind != "query" and isinstance(model_code, str):
        for prefix, out in outputs.items():
            if model_code.startswith(prefix):
                output = out
                break
    if output not in OUTPUTS:
        raise InvalidEntry(
            file, f"output {output!r}", entry=label, expected=f"one of {', '.join(OUTPUTS)}"
        )

    body = parse_embedded_json(file, label, "api_body", entry.get("api_body"))
    schema, notes = _params_schema(file, label, body)
    params = params_from_schema(
        file,
        label,
        schema,
        path_placeholders=placeholders(path),
        default_location=ctx.location_for(method),
    )

    return Operation(
        provider=ctx.provider,
        id=op_id,
        name=name,
        kind=kind,  # type: ignore[arg-type]
        output=output,  # type: ignore[arg-type]
        method=method,
        path=path,
        params=params,
        description=str(entry.get("description") or "").strip(),
        model_code=model_code,
        source=f"{file.name} id {entry.get('id')} ({name})",
        notes=tuple(notes),
        vendor_id=entry.get("id") if isinstance(entry.get("id"), int) else None,
        vendor_status=entry.get("status") if isinstance(entry.get("status"), int) else None,
        vendor_codes=_status_codes(file, label, entry.get("api_code_demo")),
    )


def _relative_path(file: Path, label: str, endpoint: object, ctx: ImportContext) -> str:
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidEntry(file, "has no endpoint", entry=label, expected="an absolute https URL")
    for base in ctx.base_urls:
        if endpoint.startswith(base.rstrip("/") + "/"):
            return endpoint[len(base.rstrip("/")) :]
    host = urlsplit(endpoint).netloc
    raise InvalidEntry(
        file,
        f"endpoint {endpoint!r} is on host {host!r}, outside the provider's base URL",
        entry=label,
        expected=f"a URL under {', '.join(ctx.base_urls)}",
    )


def _params_schema(file: Path, label: str, body: object) -> tuple[dict[str, Any], list[str]]:
    """The vendor's api_body lists -> a JSON Schema object, plus notes found in the prose."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    notes: list[str] = []
    if body is None:
        return {"type": "object", "properties": {}}, notes
    if not isinstance(body, Mapping):
        raise InvalidEntry(file, "api_body is not an object", entry=label)
    for category in body.get("category") or []:
        if not isinstance(category, Mapping):
            continue
        for raw in category.get("list") or []:
            if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
                raise InvalidEntry(
                    file, f"api_body has a parameter without a name: {raw!r}", entry=label
                )
            pname = raw["name"]
            if pname in properties:
                raise DuplicateName(
                    file,
                    f"parameter {pname!r} is listed twice",
                    entry=label,
                    expected="unique names",
                )
            prop, note = property_from_vendor(file, f"{label}: param {pname!r}", raw)
            properties[pname] = prop
            if note:
                notes.append(f"{pname}: {note}")
            if raw.get("required") is True:
                required.append(pname)
    return {"type": "object", "required": required, "properties": properties}, notes


def property_from_vendor(
    file: Path, where: str, raw: Mapping[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """One vendor parameter -> a JSON Schema property (constraints lifted from its prose)."""
    prop: dict[str, Any] = {}
    vtype = str(raw.get("type") or "").strip().lower()
    array = re.fullmatch(r"array\s*<\s*(\w+)\s*>", vtype)
    if array:
        item = _SCALAR_TYPES.get(array.group(1))
        if item is None:
            raise UnknownType(
                file,
                f"unknown array item type {array.group(1)!r}",
                entry=where,
                expected=f"array<{'|'.join(sorted(set(_SCALAR_TYPES.values())))}>",
            )
        prop["type"] = "array"
        prop["items"] = {"type": item}
    elif vtype in _SCALAR_TYPES:
        prop["type"] = _SCALAR_TYPES[vtype]
    else:
        raise UnknownType(
            file,
            f"unknown type {raw.get('type')!r}",
            entry=where,
            expected="string, integer, number, boolean or array<...>",
        )

    describe = str(raw.get("describe") or "").strip()
    prop["description"] = describe
    lifted = lift_constraints(describe)
    note = None
    value_type = prop["items"]["type"] if prop["type"] == "array" else prop["type"]
    allowed = raw.get("keywords")
    if not (isinstance(allowed, list) and allowed):
        allowed = lifted.get("options")
    if allowed:
        prop["enum"] = [_as_type(v, value_type) for v in allowed]
    if lifted.get("options_note"):
        note = lifted["options_note"]
    if "max_length" in lifted and prop["type"] == "string":
        prop["maxLength"] = lifted["max_length"]
    if "max_files" in lifted and prop["type"] == "array":
        prop["maxItems"] = lifted["max_files"]
    if "default" in lifted and raw.get("required") is not True:
        prop["default"] = _as_type(_default_value(lifted["default"], prop.get("enum")), value_type)
    if lifted.get("limits"):
        prop["x-limits"] = lifted["limits"]
    if value_type == "string" and "enum" not in prop and _URL_WORDING.match(describe):
        prop["format"] = "uri"  # each value (each item of an array) is a URL
    return prop, note


def lift_constraints(describe: str) -> dict[str, Any]:
    """Constraints the vendor writes as prose, as data. Pure: easy to test sentence by sentence."""
    found: dict[str, Any] = {}
    if m := _MAX_LENGTH.search(describe):
        found["max_length"] = int(m.group(1))
    if m := _MAX_FILES.search(describe):
        found["max_files"] = int(m.group(1))
    if m := _DEFAULT.search(describe):
        found["default"] = m.group(1).strip()
    if m := _OPTIONS.search(describe):
        text = m.group(1)
        if "(" in text:
            found["options_note"] = f"Options: {text.strip()}"
        found["options"] = [
            re.sub(r"\s*\(.*?\)", "", o).strip() for o in text.split(",") if o.strip()
        ]
    limits: dict[str, Any] = {}
    if m := _FORMATS.search(describe):
        formats = re.split(r",\s*(?:and\s+)?|\s+and\s+", m.group(1))
        limits["formats"] = [f.strip() for f in formats if f.strip()]
    for m in _RANGE.finditer(describe):
        key = _LIMIT_KEYS[m.group(1).lower()]
        low, high = m.group(2), m.group(3)
        limits[key] = {"min": _number_or_text(low), "max": _number_or_text(high)}
    if limits:
        found["limits"] = limits
    return found


def _default_value(text: str, enum: list[Any] | None) -> Any:
    """Prefer the allowed value the prose names, so "Default is 16:9." gives '16:9' exactly."""
    if enum:
        for value in sorted(enum, key=lambda v: -len(str(v))):
            if str(value) == text or text.startswith(f"{value} "):
                return value
    return text


def _as_type(value: Any, type_name: str) -> Any:
    """Prose and keywords are text; an integer or number parameter gets numbers."""
    if type_name == "string":
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if type_name == "integer":
                return int(text)
            if type_name == "number":
                return float(text)
        except ValueError:
            return value  # left as text: the schema check reports it with the entry's name
        if type_name == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    return value


def _number_or_text(value: str) -> Any:
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        return value


def _status_codes(file: Path, label: str, raw: object) -> dict[str, str]:
    """Codes listed in `api_code_demo`; most entries hold a request demo there instead (a glitch)."""
    try:
        doc = parse_embedded_json(file, label, "api_code_demo", raw)
    except CatalogError:
        return {}
    if not isinstance(doc, Mapping) or not isinstance(doc.get("list"), list):
        return {}
    codes: dict[str, str] = {}
    for item in doc["list"]:
        if isinstance(item, Mapping) and "code" in item:
            codes[str(item["code"])] = str(item.get("describe") or "")
    return codes


def _mapping_option(file: Path, options: Mapping[str, Any], key: str) -> Mapping[str, str]:
    value = options.get(key) or {}
    if not isinstance(value, Mapping):
        raise InvalidEntry(file, f"operations.{key} is not a mapping")
    return {str(k): str(v) for k, v in value.items()}
