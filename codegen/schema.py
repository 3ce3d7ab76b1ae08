"""Catalog IR -> JSON Schema (for datamodel-code-generator), names and docstring text.

Everything the templates print is decided here, in plain Python, so it can be tested
without rendering anything.
"""

from __future__ import annotations

import textwrap
from typing import Any

from mediagen.catalog.ir import Operation, Param, Provider
from mediagen.catalog.param_rules import describe_rule

_PY_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


def pascal(snake: str) -> str:
    """`wan_2_6_text_to_video` -> `Wan26TextToVideo` (datamodel-code-generator's class naming)."""
    return "".join(part[0].upper() + part[1:] for part in snake.split("_") if part)


def model_class(op: Operation) -> str:
    return f"{pascal(op.id)}Params"


def provider_class(provider: Provider) -> str:
    return pascal(provider.name)


def python_type(param: Param) -> str:
    """The annotation without `| None`: what a caller may pass for a set value."""
    if param.enum is not None:
        return f"Literal[{', '.join(repr(v) for v in param.enum)}]"
    if param.type == "array":
        return f"list[{_PY_TYPES[param.items or 'string']}]"
    return _PY_TYPES[param.type]


def annotation(param: Param) -> str:
    return python_type(param) if param.required else f"{python_type(param)} | None"


def default_repr(param: Param) -> str | None:
    """The keyword default in signatures: the documented default, else None (omitted)."""
    if param.required:
        return None
    return repr(param.default) if param.has_default else "None"


def provider_schema(provider: Provider) -> dict[str, Any]:
    """One JSON Schema document with a `$defs` entry per operation's parameters."""
    return {
        "$defs": {model_class(op): operation_schema(op) for op in provider.operations},
    }


def operation_schema(op: Operation) -> dict[str, Any]:
    properties = {p.python_name: property_schema(p) for p in op.params}
    return {
        "type": "object",
        "title": model_class(op),
        "properties": properties,
        "required": [p.python_name for p in op.params if p.required],
        "additionalProperties": False,
    }


def model_rules(op: Operation) -> list[str]:
    """The `RULES` entries of an operation's model, as Python source (attribute names)."""
    names = {p.name: p.python_name for p in op.params}
    rules = []
    for p in op.params:
        if p.required_if:
            when = {names[k]: tuple(v) for k, v in p.required_if.items()}
            rules.append(f"_v.required_if({p.python_name!r}, {when!r})")
    return rules


def property_schema(p: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": p.type}
    if p.type == "array":
        schema["items"] = {"type": p.items}
    if p.enum is not None:
        schema["enum"] = list(p.enum)
    if p.has_default:
        schema["default"] = p.default
    for key, value in (
        ("minimum", p.minimum),
        ("maximum", p.maximum),
        ("exclusiveMinimum", p.exclusive_minimum),
        ("exclusiveMaximum", p.exclusive_maximum),
        ("minLength", p.min_length),
        ("maxLength", p.max_length),
        ("minItems", p.min_items),
        ("maxItems", p.max_items),
        ("pattern", p.pattern),
    ):
        if value is not None:
            schema[key] = value
    # Our own keys, read by the attrs template (datamodel-code-generator passes them as extras).
    schema["x-py-check"] = (
        _PY_TYPES[p.items or "string"] if p.type == "array" else _PY_TYPES[p.type]
    )
    if p.format == "uri":  # validated as a URL the vendor can fetch (each item of an array)
        schema["x-py-url"] = True
    schema["x-doc"] = docstring_body(param_doc(p), indent=4)
    if p.name != p.python_name:
        schema["x-wire-name"] = p.name
    return schema


def param_doc(p: Param) -> str:
    """One paragraph: the description, then each constraint it does not already state."""
    desc = p.description.strip()
    said = desc.lower()
    parts = [desc.rstrip(".") + "." if desc else ""]
    if p.enum is not None and (p.value_labels or not all(str(v).lower() in said for v in p.enum)):
        labelled = [
            f"{v!r} ({p.value_labels[str(v)]})" if str(v) in p.value_labels else repr(v)
            for v in p.enum
        ]
        parts.append(f"Allowed: {', '.join(labelled)}.")
    bounds = _bounds(p)
    if bounds:
        parts.append(f"Range: {bounds}.")
    if p.max_length is not None and str(p.max_length) not in said:
        parts.append(f"At most {p.max_length} characters.")
    if p.max_items is not None and str(p.max_items) not in said:
        parts.append(f"At most {p.max_items} items.")
    if p.has_default and f"default is {str(p.default).lower()}" not in said:
        parts.append(f"Default: {p.default!r}.")
    if p.value_labels and p.enum is None:
        labels = ", ".join(f"{k} {v}" for k, v in p.value_labels.items())
        parts.append(f"Values: {labels}.")
    if p.limits and "format" not in said:
        parts.append(f"Limits: {format_limits(p.limits)}.")
    if p.required_if:
        parts.append(f"Required when {describe_rule(p)}.")
    if p.note:
        parts.append(f"Note: {p.note.rstrip('.')}.")
    if p.location == "path":
        parts.append("Sent in the URL path.")
    return " ".join(x for x in parts if x)


def format_limits(limits: Any) -> str:
    out = []
    for key, value in limits.items():
        label = key.replace("_", " ")
        if isinstance(value, dict) and set(value) <= {"min", "max"}:
            value = f"{value.get('min', '')}..{value.get('max', '')}"
        elif isinstance(value, list):
            value = "/".join(str(v) for v in value)
        out.append(f"{label} {value}")
    return "; ".join(out)


def _bounds(p: Param) -> str:
    low = f"{_num(p.minimum)} <= " if p.minimum is not None else ""
    low = f"{_num(p.exclusive_minimum)} < " if p.exclusive_minimum is not None else low
    high = f" <= {_num(p.maximum)}" if p.maximum is not None else ""
    high = f" < {_num(p.exclusive_maximum)}" if p.exclusive_maximum is not None else high
    return f"{low}{p.python_name}{high}" if (low or high) else ""


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def operation_doc(provider: Provider, op: Operation) -> str:
    """The summary paragraph of a stub's docstring."""
    head = f"{op.name} ({provider.title}"
    head += f", model {op.model_code})" if op.model_code else ")"
    text = f"{head}: {op.description}" if op.description else head + "."
    if op.vendor_status not in (None, 1):
        text += f" The vendor marks this entry with status {op.vendor_status}."
    return text


def kind_doc(op: Operation) -> str:
    return {
        "task": "Submits an asynchronous task and returns its handle; `wait()` on it for the result.",
        "sync": "The vendor answers synchronously: returns the finished result.",
        "query": "Returns the vendor's `data` object as a dict.",
    }[op.kind]


def docstring_body(
    text: str, *, indent: int, first_indent: int | None = None, width: int = 96
) -> str:
    """Wrap and escape text for a triple-quoted docstring; continuation lines get `indent`."""
    safe = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if safe.endswith('"'):
        safe += " "
    first = indent if first_indent is None else first_indent
    lines = textwrap.wrap(
        safe,
        width=width - first,
        subsequent_indent=" " * (indent - first),
        break_long_words=False,
        break_on_hyphens=False,
    )
    return ("\n" + " " * first).join(lines)
