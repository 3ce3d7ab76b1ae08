"""Field paths into JSON answers: `data.task_id`, `output.files[*].url`, `items[0]`.

A path is written as text in the catalog and parsed once, at load time, into a `FieldPath`.
Dots separate object keys; `[*]` steps into every item of a list, `[N]` into item N. Keys
holding a dot, a bracket or whitespace cannot be written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .frozen import Record

WILDCARD = "*"
"""The `[*]` step (a plain key can never be `*` on its own: see `parse_path`)."""

_KEY = r"[^.\[\]\s]+"
_INDEX = r"\[(?:\*|\d+)\]"
_SYNTAX = re.compile(rf"(?:{_KEY}(?:{_INDEX})*|(?:{_INDEX})+)(?:\.{_KEY}(?:{_INDEX})*)*")
_TOKEN = re.compile(rf"({_KEY})|\[(\*|\d+)\]")

Step = str | int


class FieldPath(Record):
    """A parsed field path. `text` is what the catalog says; `steps` are keys (str), list
    indexes (int) and `WILDCARD` for every list item."""

    text: str
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return self.text

    @property
    def has_wildcard(self) -> bool:
        return WILDCARD in self.steps

    def values(self, doc: Any) -> list[Any]:
        """Every value the path reaches in `doc`, in document order (none: an empty list)."""
        current = [doc]
        for step in self.steps:
            found: list[Any] = []
            for value in current:
                if isinstance(step, int):
                    if isinstance(value, list) and -len(value) <= step < len(value):
                        found.append(value[step])
                elif step == WILDCARD:
                    if isinstance(value, list):
                        found.extend(value)
                elif isinstance(value, Mapping) and step in value:
                    found.append(value[step])
            current = found
        return current

    def first(self, doc: Any) -> Any:
        """The first value the path reaches, or None."""
        node = doc
        for step in self.steps:
            if type(step) is not str or step == WILDCARD:  # a list step: the general walk
                found = self.values(doc)
                return found[0] if found else None
            # As `values` steps into a key; most documents are plain dicts (the Mapping
            # check alone costs two calls).
            if not (type(node) is dict or isinstance(node, Mapping)) or step not in node:
                return None
            node = node[step]
        return node

    def build(self, value: Any) -> Any:
        """A document in which this path holds `value`; at a `[*]` step, `value` must be a
        list and each item goes into its own list element (the inverse of `values`)."""
        return _build(self.steps, value)


def _build(steps: tuple[Step, ...], value: Any) -> Any:
    if not steps:
        return value
    step, rest = steps[0], steps[1:]
    if step == WILDCARD:
        items = value if isinstance(value, list) else [value]
        return [_build(rest, item) for item in items]
    if isinstance(step, int):
        return [None] * step + [_build(rest, value)]
    return {step: _build(rest, value)}


def put(target: dict[str, Any], path: FieldPath, value: Any) -> dict[str, Any]:
    """Set `value` at `path` in target, replacing what was there (objects on the way are
    created); a path with list steps is merged in as `build` makes it."""
    keys = [step for step in path.steps if isinstance(step, str) and step != WILDCARD]
    if len(keys) != len(path.steps):
        return merge(target, path.build(value))
    node = target
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value
    return target


def merge(target: dict[str, Any], addition: Any) -> dict[str, Any]:
    """Deep-merge `addition` (an object built by `FieldPath.build`) into target."""
    if not isinstance(addition, Mapping):
        return target
    for key, value in addition.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            merge(target[key], value)
        elif isinstance(value, list) and isinstance(target.get(key), list):
            target[key] = target[key] + value
        else:
            target[key] = value
    return target


def parse_path(text: object) -> FieldPath | None:
    """The parsed path, or None when `text` is not valid path syntax."""
    if not isinstance(text, str) or not text or not _SYNTAX.fullmatch(text):
        return None
    steps: list[Step] = []
    for key, index in _TOKEN.findall(text):
        if key:
            if key == WILDCARD:
                return None  # `*` alone would read as a wildcard: write it [*]
            steps.append(key)
        else:
            steps.append(WILDCARD if index == "*" else int(index))
    return FieldPath(text, tuple(steps)) if steps else None


PATH_SYNTAX = "a field path like 'data.task_id', 'output.files[*].url' or 'items[0]'"
"""How loader errors describe the expected syntax."""
