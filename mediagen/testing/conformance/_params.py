"""Minimal valid parameters for an operation, derived from its catalog entry.

Only required parameters get a value: the enum's first value or the documented default,
the lowest number the bounds allow, the shortest string they allow (a loopback URL for a
URL), the fewest list items; then each optional parameter whose `x-required-if` holds for
those values gets one too (catalog/param_rules.py: the rule the models and the emulator
check). A count parameter (`Operation.result_count_param`) can be raised to ask for several
files. The class's `params` override what is derived here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...catalog.ir import Operation, Param
from ...catalog.param_rules import rule_holds

INPUT_URL = "http://127.0.0.1/conformance-input.png"
"""What a URL parameter gets: loopback http, which mediagen accepts for the emulator."""
TEXT = "a conformance check"


def minimal_params(op: Operation, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Wire params: a value for each required parameter, then `overrides` (wire or Python
    names) on top, then a value for each parameter an `x-required-if` rule requires of them."""
    params = {p.name: value_for(p) for p in op.params if p.required}
    for key, value in (overrides or {}).items():
        params[_wire_name(op, key)] = value
    # A value added for one rule may meet another's condition: again until none holds.
    while added := {
        p.name: value_for(p) for p in op.params if p.name not in params and rule_holds(p, params)
    }:
        params.update(added)
    return params


def count_of(op: Operation, wanted: int) -> Any | None:
    """The count parameter's value asking for `wanted` files (in the parameter's own type),
    or None when the operation has no count parameter or its limits refuse `wanted`."""
    name = op.result_count_param
    if name is None:
        return None
    param = op.param(name)
    value: Any = str(wanted) if param.type == "string" else wanted
    if param.enum is not None and value not in param.enum:
        return None
    if param.minimum is not None and wanted < param.minimum:
        return None
    if param.maximum is not None and wanted > param.maximum:
        return None
    return value


def value_for(param: Param) -> Any:
    """A small value the parameter accepts."""
    if param.enum:
        return param.default if param.has_default and param.default in param.enum else param.enum[0]
    if param.has_default and param.default is not None:
        return param.default
    if param.type == "array":
        item = Param(
            name=param.name,
            python_name=param.python_name,
            type=param.items or "string",
            required=True,
            format=param.format,
        )
        return [value_for(item)] * max(1, param.min_items or 1)
    return _scalar(param)


def _scalar(param: Param) -> Any:
    if param.type == "boolean":
        return False
    if param.type in ("integer", "number"):
        low = param.minimum
        if param.exclusive_minimum is not None:
            low = param.exclusive_minimum + (1 if param.type == "integer" else 0.5)
        value = low if low is not None else (param.maximum if param.maximum is not None else 1)
        value = max(value, 1) if param.maximum is None or param.maximum >= 1 else value
        return math.ceil(value) if param.type == "integer" else float(value)
    if param.format == "uri" or param.name.endswith(("url", "_urls")):
        return INPUT_URL
    text = TEXT
    if param.min_length is not None and len(text) < param.min_length:
        text = text.ljust(param.min_length, "x")
    if param.max_length is not None:
        text = text[: max(param.max_length, param.min_length or 1)]
    return text


def wire_names(op: Operation, overrides: Mapping[str, Any]) -> set[str]:
    """The wire names of the parameters `overrides` sets."""
    return {_wire_name(op, key) for key in overrides}


def _wire_name(op: Operation, key: str) -> str:
    try:
        return op.param(key).name
    except KeyError:
        return key  # an unknown name: the parameter check names it
