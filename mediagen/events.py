"""Events broadcast to observer plugins (logging, metrics, progress) via `mediagen_event`."""

from __future__ import annotations

from typing import Any, Literal

import attrs

EventKind = Literal["submitted", "state_changed", "finished"]


@attrs.frozen
class TaskEvent:
    kind: EventKind
    provider: str
    operation: str
    task_id: str | None
    state: str
    progress: float | None = None
    error: str | None = None
    """For a failed finish: the error's message (never credentials)."""
    detail: Any = attrs.field(default=None, repr=False)
    """The Result on success, the TaskStatus on a state change."""
