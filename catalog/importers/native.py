"""Importer for mediagen's own operations format (`operations.yaml`, see docs/catalog-format.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DuplicateName, InvalidEntry, MissingFact
from ..files import read_data
from ..ir import KINDS, OUTPUTS, Operation
from ..schema_params import params_from_schema
from . import ImportContext, placeholders

FORMAT = "mediagen-operations/1"
_OP_KEYS = frozenset(
    {
        "id",
        "name",
        "model_code",
        "kind",
        "output",
        "method",
        "path",
        "description",
        "source",
        "notes",
        "params",
        "count_param",
    }
)
_REQUIRED_OP_KEYS = ("id", "name", "kind", "output", "path", "source", "params")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def load_operations(file: Path, ctx: ImportContext) -> tuple[Operation, ...]:
    doc = read_data(file)
    if not isinstance(doc, Mapping):
        raise InvalidEntry(file, "is not a mapping", expected=f"a document with format: {FORMAT}")
    if doc.get("format") != FORMAT:
        raise InvalidEntry(file, f"format is {doc.get('format')!r}", expected=repr(FORMAT))
    unknown = set(doc) - {"format", "common_params", "operations"}
    if unknown:
        raise InvalidEntry(
            file,
            f"unknown top-level keys {sorted(unknown)}",
            expected="format, common_params, operations",
        )
    common = doc.get("common_params") or {}
    if not isinstance(common, Mapping):
        raise InvalidEntry(
            file, "common_params is not a mapping", expected="JSON Schema properties"
        )
    entries = doc.get("operations")
    if not isinstance(entries, list) or not entries:
        raise MissingFact(file, "no operations", expected="a non-empty 'operations' list")

    operations: list[Operation] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(entries):
        label = f"operations[{index}]"
        if not isinstance(entry, Mapping):
            raise InvalidEntry(file, "is not a mapping", entry=label)
        if isinstance(entry.get("id"), str):
            label = f"operations[{index}] {entry['id']!r}"
        op = _operation(file, label, entry, ctx, common)
        if op.id in seen:
            raise DuplicateName(
                file,
                f"operation id {op.id!r} is used twice ({seen[op.id]} and {label})",
                entry=label,
                expected="unique ids",
            )
        seen[op.id] = label
        operations.append(op)
    return tuple(operations)


def _operation(
    file: Path, label: str, entry: Mapping[str, Any], ctx: ImportContext, common: Mapping[str, Any]
) -> Operation:
    unknown = set(entry) - _OP_KEYS
    if unknown:
        raise InvalidEntry(
            file,
            f"unknown keys {sorted(unknown)}",
            entry=label,
            expected=", ".join(sorted(_OP_KEYS)),
        )
    missing = [k for k in _REQUIRED_OP_KEYS if entry.get(k) in (None, "")]
    if missing:
        raise InvalidEntry(
            file, f"missing {', '.join(missing)}", entry=label, expected="every required key"
        )
    op_id = entry["id"]
    if not isinstance(op_id, str) or not _ID.match(op_id):
        raise InvalidEntry(
            file, f"id {op_id!r}", entry=label, expected="lowercase letters, digits and _"
        )
    kind, output = entry["kind"], entry["output"]
    if kind not in KINDS:
        raise InvalidEntry(
            file, f"kind {kind!r}", entry=label, expected=f"one of {', '.join(KINDS)}"
        )
    if output not in OUTPUTS:
        raise InvalidEntry(
            file, f"output {output!r}", entry=label, expected=f"one of {', '.join(OUTPUTS)}"
        )
    path = str(entry["path"])
    if not path.startswith("/"):
        raise InvalidEntry(
            file,
            f"path {path!r} is not relative to the base URL",
            entry=label,
            expected="a path starting with /",
        )
    notes = entry.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise InvalidEntry(file, "notes is not a list of strings", entry=label)

    schema = entry["params"]
    if isinstance(schema, Mapping) and common:
        properties = dict(schema.get("properties") or {})
        clash = sorted(set(properties) & set(common))
        if clash:
            raise DuplicateName(
                file,
                f"params {clash} repeat common_params",
                entry=label,
                expected="each name defined once",
            )
        schema = {**schema, "properties": {**properties, **common}}
    method = str(entry.get("method") or "POST").upper()
    params = params_from_schema(
        file,
        label,
        schema,
        path_placeholders=placeholders(path),
        default_location=ctx.location_for(method),
    )
    count_param = entry.get("count_param")
    if count_param is not None and not isinstance(count_param, str):
        raise InvalidEntry(
            file, f"count_param is {count_param!r}", entry=label, expected="a parameter name"
        )

    return Operation(
        provider=ctx.provider,
        id=op_id,
        name=str(entry["name"]),
        kind=kind,
        output=output,
        method=method,
        path=path,
        params=params,
        description=str(entry.get("description") or "").strip(),
        model_code=entry.get("model_code"),
        source=str(entry["source"]),
        notes=tuple(notes),
        count_param=count_param,
    )
