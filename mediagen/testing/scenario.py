"""What the emulator is told to do: one model behind the Python API, a scenario file and the
admin HTTP API.

A `Scenario` holds task durations, the vendor status words to answer with, and rules that
each apply to the next `times` matching requests (a `Fault`) or tasks (an `Outcome`), first
matching rule first. `mediagen.testing.scenario_file` reads and writes it as YAML/JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

import attrs

Phase = Literal["submit", "poll", "query", "run", "download", "any"]
PHASES: tuple[str, ...] = get_args(Phase)
FaultKind = Literal[
    "status",
    "vendor_code",
    "reset",
    "reset_after",
    "slow",
    "malformed",
    "truncated",
    "html",
    "echo",
    "redirect",
    "huge",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
TerminalState = Literal["succeeded", "failed", "cancelled", "timed_out"]
TERMINAL: tuple[str, ...] = get_args(TerminalState)
ROTATE = "rotate"
"""status_words value: each new task answers with the next of the vendor's synonyms."""


@attrs.define
class Fault:
    """One injected misbehaviour, applied to the next `times` matching requests.

    kinds: status (HTTP `status`, vendor error body, optional Retry-After), vendor_code
    (error `code`, an int or a string: HTTP 200 in the provider's envelope, or without one
    the HTTP status of the code's category), reset (connection dropped before any processing),
    reset_after (request processed, e.g. the task created, then the connection dropped),
    slow (answer after `delay` seconds), malformed (not JSON), truncated (half a JSON
    body), html (an HTML error page with `status`), echo (the usual answer with `message`
    written at each dotted path of `fields` into its body, e.g. "trace_id", "data.reason",
    "data.result.note", "data.task_id": a vendor echoing text, such as the credentials it
    received, where nobody expects it; objects missing on the way are created), redirect
    (HTTP `status` if it is a 3xx, else 307, to `location`; no Location header when it is
    None), huge (a JSON-looking body of `size` bytes, streamed with that Content-Length, or
    chunked without one when `chunked`; `written` counts the bytes it managed to send before
    the client hung up).

    `message` None answers with the vendor's documented message for the code or status
    (EdrawMax `bad param: ...`, Media.io `Invalid API key`, ...), as the vendor words it.

    phase="download" applies to the artifact files the emulator serves (status, reset and
    slow; `file` narrows it to file names containing that text, e.g. "-1." for the second
    file of a result).
    """

    kind: FaultKind
    provider: str | None = None
    phase: Phase = "any"
    operation: str | None = None
    times: int = 1
    status: int = 503
    code: int | str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    message: str | None = None
    fields: tuple[str, ...] = ()
    location: str | None = None
    size: int = 20 * 1024**2
    chunked: bool = False
    written: int = attrs.field(default=0, init=False)
    file: str | None = None

    def matches(
        self, provider: str, phase: str, operation: str | None, file: str | None = None
    ) -> bool:
        return (
            self.times > 0
            and self.provider in (None, provider)
            and self.phase in ("any", phase)
            and self.operation in (None, operation)
            and (self.file is None or (file is not None and self.file in file))
        )


@attrs.define
class Outcome:
    """How the next `times` tasks of a provider (or one of its operations) end.

    `reason` is the failure text the vendor reports; `result` (a 1-tuple) replaces a
    succeeded task's generated files with that raw result value; `code`, when set, is the
    non-zero envelope code the task's poll answers carry beside their `data` once it has
    finished (Tomoviee answers a failed task so).
    """

    state: TerminalState
    provider: str
    operation: str | None = None
    reason: str | None = None
    times: int = 1
    result: tuple[Any] | None = None
    code: int | str | None = None

    def matches(self, provider: str, operation: str) -> bool:
        return self.times > 0 and self.provider == provider and self.operation in (None, operation)


StatusWords = Mapping[str, str] | Literal["rotate"]


@attrs.define
class Scenario:
    """Durations, status words and rules: everything a test tells the emulator."""

    duration: float = 0.2
    """Seconds each task takes (queued for the first quarter, then running)."""
    durations: dict[str, float] = attrs.field(factory=dict)
    """Per-operation overrides, keyed "provider.operation"."""
    faults: list[Fault] = attrs.field(factory=list)
    outcomes: list[Outcome] = attrs.field(factory=list)
    status_words: dict[str, StatusWords] = attrs.field(factory=dict)
    """Per provider: {common state: vendor word}, or "rotate" through the vendor's synonyms."""

    def take_fault(
        self, provider: str, phase: str, operation: str | None, file: str | None = None
    ) -> Fault | None:
        """The first fault matching a request, its count taken down by one."""
        for fault in self.faults:
            if fault.matches(provider, phase, operation, file):
                fault.times -= 1
                return fault
        return None

    def take_outcome(self, provider: str, operation: str) -> Outcome | None:
        """The first outcome matching a new task, its count taken down by one."""
        for outcome in self.outcomes:
            if outcome.matches(provider, operation):
                outcome.times -= 1
                return outcome
        return None

    def duration_for(self, qualified_id: str) -> float:
        return self.durations.get(qualified_id, self.duration)
