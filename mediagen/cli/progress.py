"""A live status line on a terminal: each task's state, progress and the elapsed time.

One line rewritten in place needs no library; when stderr is not a terminal nothing is
drawn, so logs and pipes stay clean.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..strategies import TaskStatus
from .common import printable


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.rows: dict[str, str] = {}
        self._width = 0

    def add(self, label: str, state: str = "submitting") -> None:
        self.rows[label] = state
        self.draw()

    def update(self, label: str, status: TaskStatus) -> None:
        text = status.state.replace("_", " ")
        if status.progress is not None and not status.terminal:
            text += f" {status.progress:.0f}%"
        self.rows[label] = text
        self.draw()

    def set(self, label: str, text: str) -> None:
        self.rows[label] = text
        self.draw()

    def draw(self) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        rows = " | ".join(f"{k}: {v}" for k, v in self.rows.items())
        line = printable(rows) + f"  [{elapsed:.1f}s]"
        pad = max(0, self._width - len(line))
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._width = len(line)

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0
