"""The change report's parameter checks: one small function per kind of change.

Each check compares one parameter's plain data (see `snapshot.py`) before and after, and
yields (change, severity, message); `diff.py` places them. Limits tighten or relax by
direction: a lower maximum or a higher minimum is breaking, the reverse compatible.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal

Severity = Literal["breaking", "warning", "compatible"]
SEVERITIES: tuple[Severity, ...] = ("breaking", "warning", "compatible")
"""Worst first."""
Found = Iterator[tuple[str, Severity, str]]
ParamCheck = Callable[[Mapping[str, Any], Mapping[str, Any]], Found]
_ABSENT = object()


def param_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Found:
    """(change, severity, message) for one parameter; None means absent on that side."""
    if old is None and new is not None:
        if new.get("required"):
            yield (
                "param_added_required",
                "breaking",
                "new required parameter: calls without it fail",
            )
        elif new.get("required_if"):
            yield (
                "param_added_required_if",
                "breaking",
                f"new parameter required when {_condition(new['required_if'])}: such calls "
                "without it fail",
            )
        else:
            yield "param_added_optional", "compatible", "new optional parameter"
        return
    if new is None and old is not None:
        yield "param_removed", "breaking", "parameter removed: calls passing it fail"
        return
    assert old is not None and new is not None
    for check in PARAM_CHECKS:
        yield from check(old, new)
    handled = {field for fields in _HANDLED for field in fields}
    for name in sorted((old.keys() | new.keys()) - handled):
        if old.get(name) != new.get(name):
            yield (
                f"{name}_changed",
                "warning",
                f"{name} changed from {old.get(name)!r} to {new.get(name)!r}",
            )


def renamed_param(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, str] | None:
    """(removed, added) when an operation's parameters (by Python name) lost exactly one and
    gained exactly one of the same type and enum: likely one parameter under a new name."""
    gone, more = old.keys() - new.keys(), new.keys() - old.keys()
    if len(gone) != 1 or len(more) != 1:
        return None
    (before,), (after,) = gone, more
    a, b = old[before], new[after]
    same = _type_label(a) == _type_label(b) and a.get("enum") == b.get("enum")
    return (before, after) if same else None


def check_required(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    if not old.get("required") and new.get("required"):
        yield "param_became_required", "breaking", "now required: calls without it fail"
    elif old.get("required") and not new.get("required"):
        yield "param_became_optional", "compatible", "now optional"


def check_type(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    before, after = _type_label(old), _type_label(new)
    if before != after:
        yield "type_changed", "breaking", f"type changed from {before} to {after}"


def _type_label(param: Mapping[str, Any]) -> str:
    kind = str(param.get("type"))
    return f"array<{param.get('items')}>" if kind == "array" else kind


def check_enum(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    before, after = old.get("enum"), new.get("enum")
    if before == after:
        return
    if before is None:
        yield "enum_added", "breaking", f"now limited to {_values(after or [])}"
    elif after is None:
        yield "enum_removed", "compatible", "no longer limited to a list of values"
    else:
        if gone := [v for v in before if v not in after]:
            yield "enum_values_removed", "breaking", f"values no longer allowed: {_values(gone)}"
        if more := [v for v in after if v not in before]:
            yield "enum_values_added", "compatible", f"new allowed values: {_values(more)}"


def _values(values: Iterable[Any]) -> str:
    return ", ".join(repr(v) for v in values)


UPPER_BOUNDS = ("maximum", "exclusive_maximum", "max_length", "max_items")
LOWER_BOUNDS = ("minimum", "exclusive_minimum", "min_length", "min_items")


def check_bounds(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    for name in UPPER_BOUNDS + LOWER_BOUNDS:
        yield from _bound(name, old.get(name), new.get(name), upper=name in UPPER_BOUNDS)


def check_limits(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    """Documented facts the vendor enforces: formats, file size, resolution, duration..."""
    before, after = old.get("limits") or {}, new.get("limits") or {}
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        if a == b:
            continue
        if a is None:  # a new documented limit where anything went
            yield "limit_tightened", "breaking", f"{name} {brief(b)} added"
        elif b is None:
            yield "limit_relaxed", "compatible", f"{name} {brief(a)} removed"
        elif isinstance(a, list) or isinstance(b, list):
            yield from _allowed_set(name, _as_list(a), _as_list(b))
        elif isinstance(a, Mapping) or isinstance(b, Mapping):
            a_map, b_map = a if isinstance(a, Mapping) else {}, b if isinstance(b, Mapping) else {}
            yield from _bound(f"{name}.max", a_map.get("max"), b_map.get("max"), upper=True)
            yield from _bound(f"{name}.min", a_map.get("min"), b_map.get("min"), upper=False)
        elif name.startswith(("max_", "min_")):
            yield from _bound(name, a, b, upper=name.startswith("max_"))
        else:
            yield "limit_changed", "warning", f"{name} changed from {a!r} to {b!r}"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _allowed_set(name: str, before: list[Any], after: list[Any]) -> Found:
    if gone := [v for v in before if v not in after]:
        yield "limit_tightened", "breaking", f"{name}: no longer allowed {_values(gone)}"
    if more := [v for v in after if v not in before]:
        yield "limit_relaxed", "compatible", f"{name}: now also allowed {_values(more)}"


def _bound(name: str, before: Any, after: Any, *, upper: bool) -> Found:
    if before == after:
        return
    if before is None:
        yield "limit_tightened", "breaking", f"{name} {after!r} added"
        return
    if after is None:
        yield "limit_relaxed", "compatible", f"{name} {before!r} removed"
        return
    a, b = magnitude(before), magnitude(after)
    text = f"{name} changed from {before!r} to {after!r}"
    if a is None or b is None:
        yield "limit_changed", "warning", text
    elif (b < a) == upper:
        yield "limit_tightened", "breaking", text + " (tightened)"
    else:
        yield "limit_relaxed", "compatible", text + " (relaxed)"


_NUMBER = r"\d+(?:\.\d+)?"
_PAIR = re.compile(rf"^\s*({_NUMBER})\s*([x:])\s*({_NUMBER})\s*$", re.I)
_SUFFIXED = re.compile(rf"^\s*({_NUMBER})\s*[a-z]*\s*$", re.I)


def magnitude(value: Any) -> float | None:
    """A comparable size: numbers as is, `WxH` as its area, `a:b` as a ratio, `720p` as 720."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if m := _PAIR.match(value):
            x, sep, y = float(m.group(1)), m.group(2).lower(), float(m.group(3))
            return x * y if sep == "x" else (x / y if y else None)
        if m := _SUFFIXED.match(value):
            return float(m.group(1))
    return None


def check_default(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    # The keyword constructor sends documented defaults: a new one changes what is sent.
    if old.get("default", _ABSENT) == new.get("default", _ABSENT):
        return
    if "default" not in old:
        text = f"documented default {new['default']!r} added: calls without it now send it"
    elif "default" not in new:
        text = f"documented default {old['default']!r} removed: the vendor now decides"
    else:
        text = f"default changed from {old['default']!r} to {new['default']!r}: same call, different output or cost"
    yield "default_changed", "warning", text


def check_wire(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    """Changes regeneration hides from Python callers; batch files name wire keys, though."""
    if old.get("name") != new.get("name"):
        yield (
            "wire_name_changed",
            "warning",
            f"wire name changed from {old.get('name')!r} to {new.get('name')!r} (the keyword "
            "stays; batch files and command lines use the wire name)",
        )
    if old.get("location") != new.get("location"):
        yield (
            "param_location_changed",
            "warning",
            f"sent in the {new.get('location')} instead of the {old.get('location')}",
        )


def check_format(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    for name in ("pattern", "format"):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if before is None:
            yield "limit_tightened", "breaking", f"{name} {after!r} added"
        elif after is None:
            yield "limit_relaxed", "compatible", f"{name} {before!r} removed"
        else:
            yield "limit_changed", "warning", f"{name} changed from {before!r} to {after!r}"


def check_required_if(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    """A condition making an optional parameter required (x-required-if): a new or wider one
    refuses calls that passed; a removed or narrower one accepts more."""
    before, after = old.get("required_if") or {}, new.get("required_if") or {}
    if before == after:
        return
    if not before:
        yield "required_if_added", "breaking", f"now required when {_condition(after)}"
    elif not after:
        yield "required_if_removed", "compatible", f"no longer required when {_condition(before)}"
    elif _narrower(after, before):
        text = f"now required only when {_condition(after)} (was: {_condition(before)})"
        yield "required_if_relaxed", "compatible", text
    else:
        text = f"now required when {_condition(after)} (was: {_condition(before)})"
        yield "required_if_changed", "breaking", text


def _condition(rule: Mapping[str, Any]) -> str:
    return " and ".join(
        f"{name} is {_values(values)}"
        if len(values) == 1
        else f"{name} is one of {_values(values)}"
        for name, values in rule.items()
    )


def _narrower(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """Whether `new` holds for no call `old` does not: every old condition kept, each with
    no new value (an added condition only narrows)."""
    return all(name in new and all(v in values for v in new[name]) for name, values in old.items())


def check_docs(old: Mapping[str, Any], new: Mapping[str, Any]) -> Found:
    for name in ("value_labels", "note"):
        if old.get(name) != new.get(name):
            yield f"{name}_changed", "compatible", f"{name.replace('_', ' ')} changed"


PARAM_CHECKS: tuple[ParamCheck, ...] = (
    check_required,
    check_type,
    check_enum,
    check_bounds,
    check_limits,
    check_format,
    check_default,
    check_wire,
    check_required_if,
    check_docs,
)
_HANDLED: tuple[tuple[str, ...], ...] = (
    ("python_name", "required", "type", "items", "enum", "limits", "default"),
    UPPER_BOUNDS,
    LOWER_BOUNDS,
    ("pattern", "format", "name", "location", "value_labels", "note", "required_if"),
)


def brief(value: Any) -> str:
    """A value in a message: a record as its non-empty `key=value` pairs."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v!r}" for k, v in value.items() if v not in (None, "", [], {}))
    return repr(value)
