"""JSON Schema parameter definitions -> validated IR params.

Every importer funnels its parameters through `params_from_schema`, so the checks (types,
defaults, ranges, names) are written once whatever the source format.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from pathlib import Path

from .errors import DuplicateName, InvalidDefault, InvalidEntry, UnknownType
from .ir import ITEM_TYPES, LOCATIONS, NO_DEFAULT, PARAM_TYPES, Param
from .param_rules import RULE_KEY, check_rules, read_required_if

PROPERTY_KEYS = frozenset(
    {
        "type",
        "items",
        "enum",
        "default",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "pattern",
        "format",
        "description",
        "x-limits",
        "x-value-labels",
        "x-note",
        "x-location",
        "x-required-if",
    }
)

# Names that would break or shadow something in generated models and stubs.
_RESERVED = frozenset(
    {
        "self",
        "cls",
        "attrs",
        "models",
        "OPERATION",
        "to_dict",
        "from_dict",
        "wire_names",
        "mediagen",
    }
)

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def python_name(wire_name: str) -> str:
    """A keyword-argument name for a wire key: identifiers stay, others are made safe."""
    name = re.sub(r"\W+", "_", wire_name).strip("_") or "param"
    if name[0].isdigit():
        name = f"p_{name}"
    if keyword.iskeyword(name) or name in _RESERVED:
        name = f"{name}_"
    return name


def operation_id(vendor_name: str) -> str:
    """Media.io's rule: lowercase, each run of non-alphanumerics becomes `_`, trimmed."""
    return re.sub(r"[^a-z0-9]+", "_", vendor_name.lower()).strip("_")


def params_from_schema(
    file: Path,
    entry: str,
    schema: object,
    *,
    path_placeholders: set[str],
    default_location: str = "body",
) -> tuple[Param, ...]:
    """Turn a JSON Schema `{"type": "object", "properties": ..., "required": [...]}` into params."""
    if not isinstance(schema, Mapping):
        raise InvalidEntry(
            file, "params is not a mapping", entry=entry, expected="a JSON Schema object"
        )
    unknown = set(schema) - {"type", "required", "properties"}
    if unknown:
        raise InvalidEntry(
            file,
            f"params has unknown keys {sorted(unknown)}",
            entry=entry,
            expected="type, required, properties",
        )
    if schema.get("type", "object") != "object":
        raise UnknownType(
            file, f"params type {schema.get('type')!r}", entry=entry, expected="'object'"
        )
    properties = schema.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise InvalidEntry(file, "params.properties is not a mapping", entry=entry)
    required = schema.get("required") or []
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise InvalidEntry(file, "params.required is not a list of names", entry=entry)
    missing = [r for r in required if r not in properties]
    if missing:
        raise InvalidEntry(
            file,
            f"required names {missing} have no property",
            entry=entry,
            expected="a property each",
        )

    params: list[Param] = []
    seen: dict[str, str] = {}
    for wire_name, prop in properties.items():
        where = f"{entry}: param {wire_name!r}"
        param = param_from_property(
            file,
            where,
            str(wire_name),
            prop,
            required=wire_name in required,
            in_path=wire_name in path_placeholders,
            default_location=default_location,
        )
        if param.python_name in seen:
            raise DuplicateName(
                file,
                f"params {seen[param.python_name]!r} and {wire_name!r} both map to the name "
                f"{param.python_name!r}",
                entry=entry,
                expected="distinct parameter names",
            )
        seen[param.python_name] = str(wire_name)
        params.append(param)
    check_rules(file, entry, tuple(params))
    return tuple(params)


def param_from_property(
    file: Path,
    where: str,
    wire_name: str,
    prop: object,
    *,
    required: bool,
    in_path: bool,
    default_location: str = "body",
) -> Param:
    if not isinstance(prop, Mapping):
        raise InvalidEntry(file, "is not a mapping", entry=where, expected="a JSON Schema property")
    unknown = set(prop) - PROPERTY_KEYS
    if unknown:
        raise InvalidEntry(
            file,
            f"unknown keys {sorted(unknown)}",
            entry=where,
            expected=f"only {', '.join(sorted(PROPERTY_KEYS))}",
        )
    ptype = prop.get("type")
    if ptype not in PARAM_TYPES:
        raise UnknownType(
            file,
            f"unknown type {ptype!r}",
            entry=where,
            expected=f"one of {', '.join(PARAM_TYPES)}",
        )
    items = None
    if ptype == "array":
        item_schema = prop.get("items")
        item_type = item_schema.get("type") if isinstance(item_schema, Mapping) else None
        if item_type not in ITEM_TYPES:
            raise UnknownType(
                file,
                _items_problem(item_schema),
                entry=where,
                expected=f"items: {{type: {'|'.join(ITEM_TYPES)}}}",
            )
        items = item_type

    enum = prop.get("enum")
    if enum is not None:
        if not isinstance(enum, list) or not enum:
            raise InvalidEntry(
                file, "enum is empty or not a list", entry=where, expected="a non-empty list"
            )
        value_type = (items or "") if ptype == "array" else ptype
        bad = [v for v in enum if not _is_of_type(v, value_type)]
        if bad:
            raise InvalidEntry(file, f"enum values {bad} are not of type {value_type}", entry=where)
        if len(set(map(repr, enum))) != len(enum):
            raise DuplicateName(
                file, "enum lists a value twice", entry=where, expected="distinct values"
            )
        enum = tuple(enum)

    numbers = {}
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        value = prop.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidEntry(file, f"{key} is {value!r}", entry=where, expected="a number")
        numbers[key] = value
    counts = {}
    for key in ("minLength", "maxLength", "minItems", "maxItems"):
        value = prop.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise InvalidEntry(
                file, f"{key} is {value!r}", entry=where, expected="a non-negative integer"
            )
        counts[key] = value
    if (numbers["minimum"] is not None or numbers["maximum"] is not None) and ptype not in (
        "integer",
        "number",
    ):
        raise InvalidEntry(
            file,
            f"minimum/maximum on a {ptype}",
            entry=where,
            expected="an integer or number param",
        )
    if (counts["minLength"] is not None or counts["maxLength"] is not None) and ptype != "string":
        raise InvalidEntry(
            file, f"minLength/maxLength on a {ptype}", entry=where, expected="a string param"
        )
    if (counts["minItems"] is not None or counts["maxItems"] is not None) and ptype != "array":
        raise InvalidEntry(
            file, f"minItems/maxItems on a {ptype}", entry=where, expected="an array param"
        )
    pattern = prop.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise InvalidEntry(
                file, f"pattern {pattern!r} does not compile: {exc}", entry=where
            ) from None

    description = prop.get("description", "")
    if not isinstance(description, str):
        raise InvalidEntry(file, "description is not a string", entry=where)
    limits = prop.get("x-limits") or {}
    labels = prop.get("x-value-labels") or {}
    if not isinstance(limits, Mapping) or not isinstance(labels, Mapping):
        raise InvalidEntry(file, "x-limits / x-value-labels is not a mapping", entry=where)

    location = prop.get("x-location", "path" if in_path else default_location)
    if location not in LOCATIONS:
        raise InvalidEntry(
            file, f"x-location {location!r}", entry=where, expected="'body', 'query' or 'path'"
        )
    if location == "path" and not in_path:
        raise InvalidEntry(
            file, "marked as a path parameter but the path has no such placeholder", entry=where
        )

    param = Param(
        name=wire_name,
        python_name=python_name(wire_name),
        type=ptype,
        required=required or location == "path",
        description=description.strip(),
        items=items,
        enum=enum,
        default=prop.get("default", NO_DEFAULT),
        minimum=numbers["minimum"],
        maximum=numbers["maximum"],
        exclusive_minimum=numbers["exclusiveMinimum"],
        exclusive_maximum=numbers["exclusiveMaximum"],
        min_length=counts["minLength"],
        max_length=counts["maxLength"],
        min_items=counts["minItems"],
        max_items=counts["maxItems"],
        pattern=pattern,
        format=prop.get("format"),
        location=location,
        limits=dict(limits),
        value_labels={str(k): str(v) for k, v in labels.items()},
        note=prop.get("x-note"),
        required_if=read_required_if(file, where, prop.get(RULE_KEY)),
    )
    _check_default(file, where, param)
    return param


def _check_default(file: Path, where: str, param: Param) -> None:
    if not param.has_default:
        return
    value = param.default
    if param.required:
        raise InvalidDefault(
            file, f"required param has a default {value!r}", entry=where, expected="no default"
        )
    if param.type == "array":
        ok = isinstance(value, list) and all(_is_of_type(v, param.items or "") for v in value)
    else:
        ok = _is_of_type(value, param.type)
    if not ok:
        raise InvalidDefault(file, f"default {value!r} is not a {param.type_label}", entry=where)
    if param.enum is not None and value not in param.enum:
        allowed = ", ".join(repr(v) for v in param.enum)
        raise InvalidDefault(
            file,
            f"default {value!r} is not among the allowed values",
            entry=where,
            expected=allowed,
        )
    low, high = param.minimum, param.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidDefault(file, f"default {value!r} is outside {low}..{high}", entry=where)
    if param.max_length is not None and len(value) > param.max_length:
        raise InvalidDefault(
            file, f"default is longer than maxLength {param.max_length}", entry=where
        )


def _is_of_type(value: object, type_name: str) -> bool:
    if type_name == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    return isinstance(value, _PY_TYPES.get(type_name, ()))


def _items_problem(items: object) -> str:
    """What is wrong with an array property's `items`, in the catalog's own words."""
    if items is None:
        return "an array without `items`"
    if not isinstance(items, Mapping):
        return f"`items` is {items!r}, not a mapping"
    if items.get("type") is None:
        return "`items` without a `type`"
    return f"unknown array item type {items.get('type')!r}"
