"""mediagen's error tree. Everything the library raises on purpose is a `MediagenError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class MediagenError(Exception):
    """Base of every error mediagen raises on purpose."""


class ParamError(MediagenError, ValueError):
    """A parameter value the operation does not accept; raised before any network call.

    Carries the operation (``provider.operation``), the field, the offending value and a
    description of what is allowed, so callers (and the CLI) can say exactly what to fix.
    """

    def __init__(
        self,
        operation: str,
        field: str,
        value: Any,
        allowed: str,
        *,
        problem: str | None = None,
    ) -> None:
        self.operation = operation
        self.field = field
        self.value = value
        self.allowed = allowed
        shown = _short_repr(value)
        what = problem or f"{field}={shown} is not accepted"
        super().__init__(f"{operation}: {what}; allowed: {allowed}")


class UnknownParams(ParamError):
    """Keys that the operation does not define (typos, params of another model)."""

    def __init__(self, operation: str, names: Sequence[str], known: Sequence[str]) -> None:
        listed = ", ".join(names)
        super().__init__(
            operation,
            names[0],
            None,
            ", ".join(known) or "no parameters",
            problem=f"unknown parameter(s) {listed}",
        )


class MissingParams(ParamError):
    def __init__(self, operation: str, names: Sequence[str]) -> None:
        listed = ", ".join(names)
        super().__init__(
            operation,
            names[0],
            None,
            "a value for each required parameter",
            problem=f"missing required parameter(s) {listed}",
        )


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    if len(text) > limit:
        size = (
            f"{len(value)} items" if isinstance(value, list | tuple) else f"{len(str(value))} chars"
        )
        text = f"{text[: limit - 20]}... ({size})"
    return text
