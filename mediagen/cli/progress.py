"""Task progress for people: a live display on a terminal, plain lines elsewhere.

On a terminal, rich's live display shows one line per task (state, progress, a ticking
elapsed clock), each fitted to the terminal's width. rich is imported only then: most
commands never draw, and start-up time matters. When the stream is not a terminal, each
state change is one plain line, so logs and pipes stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from ..strategies import TaskStatus
from .common import printable

if TYPE_CHECKING:
    from rich.live import Live

REFRESHES_PER_SECOND = 4
"""How often the live display redraws: the elapsed clock ticks between polls."""


class _Row:
    def __init__(self, state: str) -> None:
        self.state = state
        self.started = time.monotonic()
        self.finished: float | None = None

    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started


class Progress:
    """Rows of `label: state` for the tasks of one command.

    `enabled=False` shows nothing (`--json`); `live=None` chooses by the stream: a live
    display on a terminal, plain lines otherwise.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool | None = None,
        live: bool | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = True if enabled is None else enabled
        self.live = _is_terminal(self.stream) if live is None else live
        self.started = time.monotonic()
        self.rows: dict[str, _Row] = {}
        self._display: Live | None = None

    def add(self, label: str, state: str = "submitting") -> None:
        self.rows[label] = _Row(state)
        self._changed(label)

    def update(self, label: str, status: TaskStatus) -> None:
        text = status.state.replace("_", " ")
        if status.progress is not None and not status.terminal:
            text += f" {status.progress:.0f}%"
        self._set(label, text, done=status.terminal)

    def set(self, label: str, text: str, *, done: bool = False) -> None:
        self._set(label, text, done=done)

    def _set(self, label: str, text: str, *, done: bool) -> None:
        row = self.rows.setdefault(label, _Row(text))
        if row.state == text and not done:
            return
        unchanged_state = row.state.split(" ")[0] == text.split(" ")[0]
        row.state = text
        if done and row.finished is None:
            row.finished = time.monotonic()
        # Plain lines: one per state change, not one per percent.
        if self.live or not unchanged_state:
            self._changed(label)

    def _changed(self, label: str) -> None:
        if not self.enabled:
            return
        if not self.live:
            row = self.rows[label]
            self.stream.write(printable(f"{label}: {row.state} [{row.elapsed():.1f}s]") + "\n")
            self.stream.flush()
            return
        if self._display is None:
            self._display = _start_live(self)
        else:
            self._display.refresh()

    def lines(self) -> list[str]:
        """The rows as shown, one per task (made printable; fitting is the display's job)."""
        return [
            printable(f"{label}: {row.state}") + f"  [{row.elapsed():.1f}s]"
            for label, row in self.rows.items()
        ]

    def close(self) -> None:
        """Stop the live display, leaving its last lines on the screen."""
        if self._display is not None:
            self._display.stop()
            self._display = None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


def _start_live(progress: Progress) -> Live:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live
    from rich.text import Text

    class Rows:
        """Rendered at every refresh, so the clock ticks with no new poll."""

        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            for line in progress.lines():
                yield Text(line, no_wrap=True, overflow="ellipsis")

    console = Console(file=progress.stream, highlight=False)
    live = Live(
        Rows(),
        console=console,
        refresh_per_second=REFRESHES_PER_SECOND,
        transient=False,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    live.start()
    return live
