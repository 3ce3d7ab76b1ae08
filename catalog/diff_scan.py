"""What a change breaks in a user's project: call sites in Python files and batch-file lines.

Python files are read with `ast`: `<anything>.<provider>.<operation>(...)`,
`<anything>.provider("<provider>").<operation>(...)` and `<anything>.provider("<provider>")`.
Batch files are JSON lines of {"provider", "operation", "params"} (params by wire name).
A call is listed when a breaking change applies to it: every call of a removed operation, a
call that passes a removed or narrowed parameter, one that omits a newly required one.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .diff import Change
from .snapshot import CatalogData

_SKIP_DIRS = frozenset({".git", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".nox"})
_BATCH_SUFFIXES = (".jsonl", ".ndjson")
# Breaking changes that hit a call only if it passes the parameter, or only if it omits it.
_WHEN_PASSED = frozenset(
    {"param_removed", "type_changed", "enum_values_removed", "enum_added", "limit_tightened"}
)
_WHEN_OMITTED = frozenset({"param_added_required", "param_became_required"})


@attrs.frozen
class Hit:
    """A place in the user's code that a breaking change affects."""

    file: str
    line: int
    provider: str
    operation: str | None
    change: Change

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "provider": self.provider,
            "operation": self.operation,
            "change": self.change.change,
            "message": f"{self.change.where}: {self.change.message}",
        }


@attrs.frozen
class ScanResult:
    hits: tuple[Hit, ...]
    skipped: tuple[str, ...]
    """Files that could not be read or parsed, each with the reason."""


def scan(paths: Sequence[Path], changes: Sequence[Change], old: CatalogData) -> ScanResult:
    """Every affected call site and batch line under `paths` (files or folders)."""
    breaking = [c for c in changes if c.severity == "breaking"]
    hits: list[Hit] = []
    skipped: list[str] = []
    for file in _files(paths):
        try:
            text = file.read_text(encoding="utf-8")
            calls = list(
                _python_calls(text, str(file)) if file.suffix == ".py" else _batch_calls(text, old)
            )
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
            skipped.append(f"{file}: {type(exc).__name__}: {exc}")
            continue
        for line, provider, operation, passed in calls:
            hits.extend(
                Hit(str(file), line, provider, operation, change)
                for change in _affecting(breaking, provider, operation, passed)
            )
    return ScanResult(tuple(hits), tuple(skipped))


def _files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
            continue
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            for name in sorted(names):
                if name.endswith((".py", *_BATCH_SUFFIXES)):
                    yield Path(root) / name


Call = tuple[int, str, str | None, frozenset[str] | None]
"""(line, provider, operation or None for `provider("x")` alone, keywords passed or None
when unknowable, e.g. `**params`)."""


def _python_calls(text: str, filename: str) -> Iterator[Call]:
    tree = ast.parse(text, filename=filename)
    inner: set[int] = set()  # provider("x") calls already counted as part of a chain
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        target = node.func.value
        provider = _provider_call(target)
        if provider is not None:
            inner.add(id(target))
        elif isinstance(target, ast.Attribute):
            provider = target.attr
        if provider is not None:
            yield node.lineno, provider, node.func.attr, _keywords(node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in inner:
            provider = _provider_call(node)
            if provider is not None:
                yield node.lineno, provider, None, frozenset()


def _provider_call(node: ast.expr) -> str | None:
    """The name in `<anything>.provider("name")`."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "provider"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _keywords(node: ast.Call) -> frozenset[str] | None:
    if any(k.arg is None for k in node.keywords):
        return None
    return frozenset(k.arg for k in node.keywords if k.arg is not None)


def _batch_calls(text: str, old: CatalogData) -> Iterator[Call]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        doc = json.loads(line)
        if not isinstance(doc, Mapping) or not isinstance(doc.get("provider"), str):
            raise ValueError(f"line {number} is not a batch item")
        provider, operation = doc["provider"], doc.get("operation")
        if not isinstance(operation, str):
            raise ValueError(f"line {number} has no operation")
        params = doc.get("params") or {}
        wire = _python_names(old, provider, operation)
        yield number, provider, operation, frozenset(wire.get(k, k) for k in params)


def _python_names(old: CatalogData, provider: str, operation: str) -> dict[str, str]:
    """Wire name -> Python name for one operation of the old catalog."""
    op = old["providers"].get(provider, {}).get("operations", {}).get(operation, {})
    return {p.get("name", name): name for name, p in op.get("params", {}).items()}


def _affecting(
    breaking: Iterable[Change], provider: str, operation: str | None, passed: frozenset[str] | None
) -> Iterator[Change]:
    for change in breaking:
        if change.provider != provider:
            continue
        if change.operation is None:
            yield change  # the provider itself is gone or changed
            continue
        if change.operation == operation and _applies(change, passed):
            yield change


def _applies(change: Change, passed: frozenset[str] | None) -> bool:
    """Whether an operation's breaking change hits a call passing these keywords (None: any)."""
    if change.param is None:
        return True
    if change.change in _WHEN_PASSED:
        return passed is None or change.param in passed
    if change.change in _WHEN_OMITTED:
        return passed is None or change.param not in passed
    return False
