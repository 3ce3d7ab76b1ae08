"""The common task states, as plain tuples: the journal and the command line read them without
loading the IR classes (`ir.py` re-exports them)."""

from __future__ import annotations

TASK_STATES: tuple[str, ...] = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "timed_out",
)
TERMINAL_STATES: tuple[str, ...] = ("succeeded", "failed", "cancelled", "timed_out")
SUCCESS_STATES: tuple[str, ...] = ("succeeded",)
FAILURE_STATES: tuple[str, ...] = ("failed", "cancelled", "timed_out")
