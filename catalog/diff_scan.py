"""What a change breaks in a user's project: call sites in Python files and batch-file lines.

Python files are read with `ast` (see `diff_scan_python.py` for the calls it recognises).
Batch files are JSON lines of {"provider", "operation", "params"} (params by wire name); a
line that is not one is skipped, named by its line number, and the other lines are read.
A call is listed when a breaking change applies to it: every call of a removed operation, a
call that passes a removed or narrowed parameter, one that omits a newly required one. A
call passing a literal (a constant in the source, any value in a batch line) is listed for a
narrowed enum (values removed, or a list of values where anything went), a changed type or a
tightened bound only if the new parameter refuses the value; one passing a variable is listed
as one that may be affected.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .diff import Change
from .diff_scan_python import NOT_LITERAL, Call, python_calls
from .diff_scan_values import all_known, fits_type, tightened_bounds, within_bound
from .snapshot import CatalogData

_SKIP_DIRS = frozenset({".git", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".nox"})
_BATCH_SUFFIXES = (".jsonl", ".ndjson")
# Breaking changes that hit a call only if it passes the parameter, or only if it omits it.
_WHEN_PASSED = frozenset(
    {"param_removed", "type_changed", "enum_values_removed", "enum_added", "limit_tightened"}
)
_WHEN_OMITTED = frozenset({"param_added_required", "param_became_required"})
# Changes that hit a call passing a literal only if the literal is no longer allowed.
_ENUM_NARROWED = frozenset({"enum_values_removed", "enum_added"})
# Changes that hit a call passing a literal only if the new parameter refuses it.
_VALUE_CHECKED = frozenset({"type_changed", "limit_tightened"})
_NOT_A_BATCH_ITEM = (
    'not a batch item (expected {"provider": ..., "operation": ..., "params": {...}})'
)


@attrs.frozen
class Hit:
    """A place in the user's code that a breaking change affects; `note` says how, when the
    change alone does not (the removed value it passes, or why it only may be affected)."""

    file: str
    line: int
    provider: str
    operation: str | None
    change: Change
    note: str | None = None

    @property
    def message(self) -> str:
        text = f"{self.change.where}: {self.change.message}"
        return text if self.note is None else f"{text} ({self.note})"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "provider": self.provider,
            "operation": self.operation,
            "change": self.change.change,
            "message": self.message,
        }


@attrs.frozen
class ScanResult:
    hits: tuple[Hit, ...]
    skipped: tuple[str, ...]
    """Files that could not be read or parsed, and batch lines that are not batch items,
    each with the reason."""


def scan(
    paths: Sequence[Path], changes: Sequence[Change], old: CatalogData, new: CatalogData
) -> ScanResult:
    """Every affected call site and batch line under `paths` (files or folders)."""
    breaking = [c for c in changes if c.severity == "breaking"]
    hits: list[Hit] = []
    skipped: list[str] = []
    for file in _files(paths):
        try:
            text = file.read_text(encoding="utf-8")
            if file.suffix == ".py":
                calls = python_calls(text, str(file), old["providers"])
            else:
                calls, bad = _batch_calls(text, old)
                skipped.extend(f"{file}:{problem}" for problem in bad)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError) as exc:
            skipped.append(f"{file}: {type(exc).__name__}: {exc}")
            continue
        for call in calls:
            hits.extend(
                Hit(str(file), call.line, call.provider, call.operation, change, note)
                for change, note in _affecting(breaking, call, old, new)
            )
    return ScanResult(tuple(hits), tuple(skipped))


def _files(paths: Sequence[Path]) -> Iterator[Path]:
    """The files to read, each once (a file named and also inside a folder named)."""
    seen: set[Path] = set()
    for file in _candidates(paths):
        if (key := file.resolve()) not in seen:
            seen.add(key)
            yield file


def _candidates(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
            continue
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            for name in sorted(names):
                if name.endswith((".py", *_BATCH_SUFFIXES)):
                    yield Path(root) / name


def _batch_calls(text: str, old: CatalogData) -> tuple[list[Call], list[str]]:
    """The batch items of a JSON-lines file, and `<line>: <reason>` for each line that is not
    one. Lines are numbered as an editor does: split at newlines only."""
    calls: list[Call] = []
    bad: list[str] = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(f"{number}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        except RecursionError:
            bad.append(f"{number}: nested too deeply to be a batch item")
            continue
        params = doc.get("params", {}) if isinstance(doc, Mapping) else None
        if (
            not isinstance(doc, Mapping)
            or not isinstance(doc.get("provider"), str)
            or not isinstance(doc.get("operation"), str)
            or not isinstance(params, Mapping)
        ):
            bad.append(f"{number}: {_NOT_A_BATCH_ITEM}")
            continue
        provider, operation = doc["provider"], doc["operation"]
        wire = _python_names(old, provider, operation)
        passed = {wire.get(str(k), str(k)): v for k, v in params.items()}
        calls.append(Call(number, provider, operation, passed))
    return calls, bad


def _python_names(old: CatalogData, provider: str, operation: str) -> dict[str, str]:
    """Wire name -> Python name for one operation of the old catalog."""
    op = _operation(old, provider, operation)
    return {p.get("name", name): name for name, p in op.get("params", {}).items()}


def _operation(data: CatalogData, provider: str, operation: str) -> Mapping[str, Any]:
    found: Mapping[str, Any] = (
        data["providers"].get(provider, {}).get("operations", {}).get(operation, {})
    )
    return found


def _affecting(
    breaking: Iterable[Change], call: Call, old: CatalogData, new: CatalogData
) -> Iterator[tuple[Change, str | None]]:
    """Each change that hits the call, with the hit's note."""
    for change in breaking:
        if change.provider != call.provider:
            continue
        if change.operation is None:
            yield change, None  # the provider itself is gone or changed
        elif change.operation == call.operation:
            yield from _operation_hit(change, call, old, new)


def _operation_hit(
    change: Change, call: Call, old: CatalogData, new: CatalogData
) -> Iterator[tuple[Change, str | None]]:
    """A change of the call's operation: one of the operation itself hits every call; one of
    a parameter hits a call passing it (or omitting it, for a newly required one), judged by
    the literal passed where a literal can show it; a call spreading a `**mapping` without
    naming the parameter may be affected."""
    if change.param is None:
        yield change, None
        return
    given = change.param in call.passed
    if change.change in _WHEN_PASSED and given:
        if change.change in _ENUM_NARROWED:
            yield from _enum_hit(change, call.passed, old, new)
        elif change.change in _VALUE_CHECKED:
            yield from _value_hit(change, call.passed, old, new)
        else:
            yield change, None
    elif change.change in _WHEN_OMITTED and not given and not call.spread:
        yield change, None
    elif change.change in _WHEN_PASSED | _WHEN_OMITTED and not given and call.spread:
        yield change, "may be affected: keywords passed with ** are not read"


def _enum_hit(
    change: Change, passed: Mapping[str, Any], old: CatalogData, new: CatalogData
) -> Iterator[tuple[Change, str | None]]:
    """A narrowed enum hits a call passing a literal it refuses now and accepted before, and
    may hit one passing a value that is not a literal."""
    assert change.param is not None  # an enum change is a parameter's
    value = passed[change.param]
    before, after = (_param(data, change).get("enum") for data in (old, new))
    if after is None:  # not found in the new catalog: listed as before
        yield change, None
    elif value is NOT_LITERAL:
        yield change, "may be affected: the value passed is not a literal"
    elif refused := [
        v for v in _members(value) if not _among(v, after) and (before is None or _among(v, before))
    ]:
        yield change, f"passes {', '.join(repr(v) for v in refused)}"


def _value_hit(
    change: Change, passed: Mapping[str, Any], old: CatalogData, new: CatalogData
) -> Iterator[tuple[Change, str | None]]:
    """A changed type or a tightened bound hits a call passing a literal the new parameter
    refuses, and may hit one passing a value that is not a literal; what a literal cannot
    show kept (see diff_scan_values) hits as before."""
    assert change.param is not None  # a type or a limit is a parameter's
    before, after = _param(old, change), _param(new, change)
    value = passed[change.param]
    if change.change == "type_changed":
        checkable = bool(after)
    else:
        bounds = tightened_bounds(change.message, before, after)
        checkable = bool(bounds)
    if not checkable:
        yield change, None
    elif value is NOT_LITERAL:
        yield change, "may be affected: the value passed is not a literal"
    else:
        fits = (
            fits_type(value, after)
            if change.change == "type_changed"
            else all_known(within_bound(value, name, after.get(name)) for name in bounds)
        )
        if fits is not True:  # refused, or nothing the check measures: listed
            yield change, f"passes {value!r}" if fits is False else None


def _param(data: CatalogData, change: Change) -> Mapping[str, Any]:
    assert change.operation is not None and change.param is not None
    found: Mapping[str, Any] = (
        _operation(data, change.provider, change.operation).get("params", {}).get(change.param, {})
    )
    return found


def _members(value: Any) -> list[Any]:
    """A literal's values: a list's members (an array parameter), else the value itself."""
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


def _among(value: Any, values: Iterable[Any]) -> bool:
    return any(value == v and isinstance(value, bool) == isinstance(v, bool) for v in values)
