"""The task journal's states: a module of its own, so that the command line can offer them
(`mediagen tasks --state`) without loading the journal, SQLite and their dependencies."""

from __future__ import annotations

from .catalog.states import TERMINAL_STATES

UNFINISHED = ("planned", "pending", "queued", "running")
TERMINAL = (*TERMINAL_STATES, "rejected", "unknown")
