"""The emulator's parameter check for providers without generated models (a plugin's
catalog): names, types, allowed values and bounds, read from the catalog IR."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalog.ir import Operation, Param
from ..catalog.param_rules import describe_rule, rule_holds
from ..errors import MissingParams, ParamError, UnknownParams

_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "string": ((str,), "a string"),
    "integer": ((int,), "an integer"),
    "number": ((int, float), "a number"),
    "boolean": ((bool,), "true or false"),
}


def check_catalog_params(op: Operation, params: Mapping[str, Any]) -> None:
    """Raise a ParamError naming the first wire param the catalog does not accept."""
    known = {p.name: p for p in op.params}
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise UnknownParams(op.qualified_id, unknown, sorted(known))
    missing = [p.name for p in op.params if p.required and p.name not in params]
    if missing:
        raise MissingParams(op.qualified_id, missing)
    for name, value in params.items():
        param = known[name]
        problem = _problem(param, value)
        if problem is not None:
            raise ParamError(op.qualified_id, param.python_name, value, problem)
    for param in op.params:
        if param.name not in params and rule_holds(param, params):
            condition = describe_rule(param)
            raise ParamError(
                op.qualified_id,
                param.python_name,
                None,
                f"{param.name} set whenever {condition}",
                problem=f"{param.name} is required when {condition}",
            )


def _problem(param: Param, value: Any) -> str | None:
    """What the value should be, when it is not acceptable; None when it is."""
    if param.type == "array":
        if not isinstance(value, list):
            return "a list"
        if param.min_items is not None and len(value) < param.min_items:
            return f"at least {param.min_items} items"
        if param.max_items is not None and len(value) > param.max_items:
            return f"at most {param.max_items} items"
        items = [_scalar(param, param.items or "string", item) for item in value]
        return next((p for p in items if p is not None), None)
    return _scalar(param, param.type, value)


def _scalar(param: Param, kind: str, value: Any) -> str | None:
    types, label = _TYPES[kind]
    if isinstance(value, bool) != (kind == "boolean") or not isinstance(value, types):
        return label
    if param.enum is not None and not any(
        value == allowed and type(value) is type(allowed) for allowed in param.enum
    ):
        return "one of " + ", ".join(repr(v) for v in param.enum)
    if isinstance(value, str):
        if param.max_length is not None and len(value) > param.max_length:
            return f"at most {param.max_length} characters"
        if param.min_length is not None and len(value) < param.min_length:
            return f"at least {param.min_length} characters"
    elif isinstance(value, int | float):
        if param.minimum is not None and value < param.minimum:
            return f">= {param.minimum:g}"
        if param.maximum is not None and value > param.maximum:
            return f"<= {param.maximum:g}"
        if param.exclusive_minimum is not None and value <= param.exclusive_minimum:
            return f"> {param.exclusive_minimum:g}"
        if param.exclusive_maximum is not None and value >= param.exclusive_maximum:
            return f"< {param.exclusive_maximum:g}"
    return None
