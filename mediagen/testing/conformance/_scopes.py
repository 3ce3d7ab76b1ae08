"""Which cases each check runs on, read from the catalog: the parametrisation of the suite.

A check is marked with the scope it runs over (`@each(...)`); `cases()` turns a scope into
pytest params whose ids name the provider and the operation (and the status word or error
code), or into one skipped param saying why the catalog leaves nothing to check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import attrs
import pytest

from ...catalog.ir import Operation, Provider
from ...catalog.paths import FieldPath

Over = Literal["operation", "kind", "status", "error"]
F = TypeVar("F", bound=Callable[..., Any])

ALL_KINDS = ("task", "sync", "query")
KIND_WORDS = {"task": "task", "sync": "synchronous", "query": "query"}


@attrs.frozen
class Scope:
    over: Over
    kinds: tuple[str, ...] = ALL_KINDS
    where: Callable[[Operation], bool] | None = None
    """A further filter on operations, with `why` saying what it keeps."""
    why: str = ""


def each(
    over: Over,
    *kinds: str,
    where: Callable[[Operation], bool] | None = None,
    why: str = "",
) -> Callable[[F], F]:
    """Mark a check: run it for each operation / one operation per kind / each vendor status
    word / each catalog error code, among operations of `kinds` that pass `where`."""

    def mark(check: F) -> F:
        check._conformance_scope = Scope(over, kinds or ALL_KINDS, where, why)  # type: ignore[attr-defined]
        return check

    return mark


@attrs.frozen
class StatusWord:
    operation: str
    word: Any
    state: str


@attrs.frozen
class ErrorCode:
    operation: str
    source: Literal["vendor_code", "http_status"]
    code: int | str
    category: str


def scope_of(function: Any) -> Scope | None:
    found = getattr(function, "_conformance_scope", None)
    return found if isinstance(found, Scope) else None


def cases(scope: Scope, provider: Provider, operations: Sequence[Operation]) -> list[Any]:
    """pytest params for the scope, or one skipped param with the catalog's reason."""
    name = provider.name
    ops = [op for op in operations if op.kind in scope.kinds]
    if scope.where is not None:
        ops = [op for op in ops if scope.where(op)]
    if not ops:
        kinds = " or ".join(KIND_WORDS[k] for k in scope.kinds)
        return [_skipped(name, f"{name} has no {kinds} operation{scope.why}")]
    if scope.over == "operation":
        return [pytest.param(op.id, id=op.qualified_id) for op in ops]
    if scope.over == "kind":
        firsts = {op.kind: op for op in reversed(ops)}
        return [
            pytest.param(firsts[k].id, id=firsts[k].qualified_id)
            for k in scope.kinds
            if k in firsts
        ]
    op = sorted(ops, key=lambda o: o.kind == "query")[0]  # a write, where there is one
    if scope.over == "status":
        task = provider.task
        if task is None:
            return [_skipped(name, f"{name} declares no task protocol, so no vendor statuses")]
        return [
            pytest.param(StatusWord(op.id, word, state), id=f"{op.qualified_id}-status-{word}")
            for word, state in task.vendor_states
        ]
    codes = [ErrorCode(op.id, "vendor_code", e.code, e.category) for e in provider.vendor_codes] + [
        ErrorCode(op.id, "http_status", e.code, e.category) for e in provider.http_statuses
    ]
    if not codes:
        return [_skipped(name, f"{name} declares no error codes")]
    return [
        pytest.param(c, id=f"{op.qualified_id}-{c.source.replace('_', '-')}-{c.code}")
        for c in codes
    ]


def _skipped(provider: str, reason: str) -> Any:
    return pytest.param(
        None, id=f"{provider}-not-applicable", marks=pytest.mark.skip(reason=reason)
    )


def path_text(path: FieldPath | None) -> str:
    return str(path) if path is not None else "-"
