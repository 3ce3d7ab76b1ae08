"""Whether a literal a call passes still fits a parameter whose type or bounds changed.

`mediagen diff --scan` lists a call passing a literal for a changed type or a tightened bound
(`maximum`, `min_length`, `max_items`, ...) only if the new parameter refuses the literal.
What a literal cannot show kept (documented vendor limits such as formats or file sizes, a
pattern, an unknown type) is left undecided: the call is listed as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .diff_params import LOWER_BOUNDS, UPPER_BOUNDS

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
}


def fits_type(value: Any, param: Mapping[str, Any]) -> bool | None:
    """Whether `value` is of the parameter's type (an array's members of its `items` type);
    None when the type is not one a literal can be checked against."""
    fits = _fits(value, param.get("type"))
    if fits and param.get("type") == "array" and param.get("items") is not None:
        return all_known(_fits(v, param.get("items")) for v in value)
    return fits


def _fits(value: Any, kind: Any) -> bool | None:
    types = _PYTHON_TYPES.get(kind) if isinstance(kind, str) else None
    if types is None:
        return None
    if isinstance(value, bool) and kind != "boolean":  # a bool is an int to Python only
        return False
    return isinstance(value, types)


def tightened_bounds(message: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The parameter's own schema bounds a `limit_tightened` change is about: the bound its
    message names, when that bound differs between old and new (a documented limit of the same
    name, under `limits`, leaves the parameter's bounds as they were: none)."""
    return [
        name
        for name in (*UPPER_BOUNDS, *LOWER_BOUNDS)
        if message.startswith(f"{name} ") and old.get(name) != new.get(name)
    ]


def within_bound(value: Any, name: str, bound: Any) -> bool | None:
    """Whether `value` keeps the bound `name` (`maximum`, `max_length`, ...) at `bound`; None
    when the literal is not something the bound measures."""
    if isinstance(bound, bool) or not isinstance(bound, int | float):
        return None
    if name.endswith(("_length", "_items")):
        sized = str if name.endswith("_length") else list | tuple
        if not isinstance(value, sized):
            return None
        measured: float = len(value)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        return None
    else:
        measured = value
    if name in ("maximum", "max_length", "max_items"):
        return measured <= bound
    if name in ("minimum", "min_length", "min_items"):
        return measured >= bound
    return measured < bound if name == "exclusive_maximum" else measured > bound


def all_known(outcomes: Iterable[bool | None]) -> bool | None:
    """False when any check refuses, else None when any could not tell, else True."""
    seen = list(outcomes)
    return False if False in seen else None if None in seen else True
