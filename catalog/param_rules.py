"""Rules between parameters: `x-required-if` (a parameter required when others hold given
values), read from a property and then checked against the operation's other parameters."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import InvalidEntry
from .ir import Param

RULE_KEY = "x-required-if"
_SHAPE = 'a mapping of other parameter -> value or list of values, e.g. {control_type: "2"}'


def read_required_if(file: Path, where: str, raw: object) -> dict[str, tuple[Any, ...]]:
    """The rule as written on one property: {param: (values...)}; shape only, no cross-check."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidEntry(file, f"{RULE_KEY} is {raw!r}", entry=where, expected=_SHAPE)
    rule: dict[str, tuple[Any, ...]] = {}
    for name, values in raw.items():
        listed = values if isinstance(values, list) else [values]
        if not isinstance(name, str) or not listed or not all(_is_scalar(v) for v in listed):
            raise InvalidEntry(
                file, f"{RULE_KEY} entry {name!r}: {values!r}", entry=where, expected=_SHAPE
            )
        rule[name] = tuple(listed)
    return rule


def check_rules(file: Path, entry: str, params: tuple[Param, ...]) -> None:
    """Each `x-required-if` names another parameter of the operation, by wire name, with values
    that parameter accepts; a parameter that is always required needs no rule."""
    by_name = {p.name: p for p in params}
    for param in params:
        if not param.required_if:
            continue
        where = f"{entry}: param {param.name!r}: {RULE_KEY}"
        if param.required:
            raise InvalidEntry(
                file,
                "the parameter is always required, so a condition says nothing",
                entry=where,
                expected=f"{RULE_KEY} only on optional parameters",
            )
        for name, values in param.required_if.items():
            other = by_name.get(name)
            if other is None or other is param:
                known = ", ".join(n for n in by_name if n != param.name)
                raise InvalidEntry(
                    file,
                    f"names {name!r}, which is not another parameter of this operation",
                    entry=where,
                    expected=f"one of {known}" if known else "another parameter",
                )
            bad = [v for v in values if not _accepts(other, v)]
            if bad:
                raise InvalidEntry(
                    file,
                    f"{name!r} can never be {', '.join(map(repr, bad))}",
                    entry=where,
                    expected=_allowed(other),
                )


def describe_rule(param: Param, names: Mapping[str, str] | None = None) -> str:
    """`control_type is '2'` (or `is one of ...`), for docs and error messages; `names` maps
    wire names to the names to show (Python names in the models)."""
    parts = []
    for name, values in param.required_if.items():
        shown = (names or {}).get(name, name)
        if len(values) == 1:
            parts.append(f"{shown} is {values[0]!r}")
        else:
            parts.append(f"{shown} is one of {', '.join(map(repr, values))}")
    return " and ".join(parts)


def rule_holds(param: Param, params: Mapping[str, Any]) -> bool:
    """Whether wire `params` meet every condition of the param's `x-required-if` (types
    matched exactly: 2 is not "2"); False for a param without a rule."""
    return bool(param.required_if) and all(
        any(params.get(name) == v and type(params.get(name)) is type(v) for v in values)
        for name, values in param.required_if.items()
    )


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _accepts(param: Param, value: object) -> bool:
    if param.type == "array":
        return False  # a condition compares one value; a list never equals it
    if param.enum is not None:
        return any(value == v and type(value) is type(v) for v in param.enum)
    if param.type == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if param.type == "string":
        return isinstance(value, str)
    if param.type == "integer":
        return isinstance(value, int)
    return isinstance(value, int | float)


def _allowed(param: Param) -> str:
    if param.type == "array":
        return "a scalar parameter (not an array) in the condition"
    if param.enum is not None:
        return "values among " + ", ".join(map(repr, param.enum))
    return f"{param.type} values"
