"""What must hold after a kill -9 round once `resume` has settled (issue 7).

(a) every task the vendor created is journaled with its vendor task id, and every synchronous
    answer with its result; the only excuse is an `unknown` entry of that very item, whose
    submit answer never reached the journal (a human decides those);
(b) no double submit: each item reached the vendor at most once and has at most one entry;
(c) no duplicate or leftover file: each artifact saved once, no `name.1.png`-style copy, no
    `.part` file, no saved artifact the journal does not know;
(d) no entry left unfinished (planned, pending, queued, running), and every succeeded entry
    has all its files.

Items are told apart by a unique marker string used as their prompt.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mediagen.journal import UNFINISHED, Entry

# place() names a copy `<stem>.<n><ext>` when `<stem><ext>` exists.
_COPY = re.compile(r"^(?P<stem>.+)\.(?P<n>\d+)(?P<ext>\.[A-Za-z0-9]+)$")


@dataclass(frozen=True)
class Violation:
    invariant: str
    """a, b, c or d."""
    message: str

    def __str__(self) -> str:
        return f"({self.invariant}) {self.message}"


@dataclass(frozen=True)
class Observed:
    """Everything a round left behind."""

    markers: list[str]
    """One per item: the prompt that identifies it."""
    entries: list[Entry]
    """The journal after the settling resume."""
    created: dict[str, str]
    """vendor task id -> JSON text of the submit body that created it."""
    ran: list[str]
    """JSON text of each synchronous call the vendor answered with a result."""
    sent: list[str]
    """JSON text of every submit or synchronous request the vendor received."""
    output: Path
    """The output folder every process saved into."""


def marker_in(text: str, marker: str) -> bool:
    """Whether JSON text holds `marker` as a whole string value."""
    return f'"{marker}"' in text


def entry_label(entry: Entry) -> str:
    return f"entry {entry.id} [{entry.qualified_operation} {entry.state} task={entry.task_id}]"


def check(seen: Observed) -> list[Violation]:
    """Every violation of (a)-(d), each naming the item, entry, task or file concerned."""
    return [*_journaled(seen), *_submitted_once(seen), *_files_once(seen), *_finished(seen)]


def _entries_of(seen: Observed, marker: str) -> list[Entry]:
    return [e for e in seen.entries if e.params.get("prompt") == marker]


def _item_of(seen: Observed, body: str) -> str | None:
    found = [m for m in seen.markers if marker_in(body, m)]
    return found[0] if found else None


def _journaled(seen: Observed) -> list[Violation]:
    problems = []
    by_task_id = {e.task_id: e for e in seen.entries if e.task_id}
    for task_id, body in seen.created.items():
        marker = _item_of(seen, body)
        entry = by_task_id.get(task_id)
        if entry is not None:
            if entry.params.get("prompt") != marker:
                problems.append(
                    Violation(
                        "a",
                        f"task {task_id} of item {marker!r} is journaled on "
                        f"{entry_label(entry)} of item {entry.params.get('prompt')!r}",
                    )
                )
            continue
        mine = _entries_of(seen, marker) if marker else []
        if not any(e.state == "unknown" and e.task_id is None for e in mine):
            listed = ", ".join(entry_label(e) for e in mine) or "no entry"
            problems.append(
                Violation(
                    "a",
                    f"task {task_id} created for item {marker!r} is not in the journal ({listed})",
                )
            )
    for body in seen.ran:
        marker = _item_of(seen, body)
        mine = _entries_of(seen, marker) if marker else []
        if not any(
            (e.state == "succeeded" and e.result is not None) or e.state == "unknown" for e in mine
        ):
            listed = ", ".join(entry_label(e) for e in mine) or "no entry"
            problems.append(
                Violation("a", f"the answered run of item {marker!r} is not journaled ({listed})")
            )
    return problems


def _submitted_once(seen: Observed) -> list[Violation]:
    problems = []
    for marker in seen.markers:
        sent = sum(1 for body in seen.sent if marker_in(body, marker))
        mine = _entries_of(seen, marker)
        listed = ", ".join(entry_label(e) for e in mine) or "no entry"
        if sent > 1:
            problems.append(
                Violation("b", f"item {marker!r} was submitted {sent} times ({listed})")
            )
        if len(mine) > 1:
            problems.append(Violation("b", f"item {marker!r} has {len(mine)} entries: {listed}"))
    return problems


def _files_once(seen: Observed) -> list[Violation]:
    problems = []
    on_disk = (
        sorted(p for p in seen.output.rglob("*") if p.is_file()) if seen.output.exists() else []
    )
    for path in on_disk:
        if path.name.endswith(".part"):
            problems.append(Violation("c", f"leftover partial file {path.name}"))
    saved = [p for p in on_disk if not p.name.endswith(".part")]
    copies: dict[str, list[str]] = {}
    for path in saved:
        m = _COPY.match(path.name)
        original = f"{m['stem']}{m['ext']}" if m else path.name
        copies.setdefault(original, []).append(path.name)
    for original, names in copies.items():
        if len(names) > 1:
            problems.append(Violation("c", f"{original} saved {len(names)} times: {sorted(names)}"))
    recorded = {Path(path).resolve() for e in seen.entries for _, path in e.files}
    for path in saved:
        # The diagram source next to its images (`<stem>-source.mmd`) is not an artifact URL.
        if path.resolve() not in recorded and "-source." not in path.name:
            problems.append(Violation("c", f"{path.name} was saved but no entry records it"))
    urls = Counter(url for e in seen.entries for url, _ in e.files)
    for url, count in urls.items():
        if count > 1:
            problems.append(Violation("c", f"{url} is recorded as saved by {count} entries"))
    return problems


def _finished(seen: Observed) -> list[Violation]:
    problems = []
    for entry in seen.entries:
        if entry.state in UNFINISHED:
            problems.append(
                Violation(
                    "d",
                    f"{entry_label(entry)} of item {entry.params.get('prompt')!r} is "
                    "left unfinished",
                )
            )
        if entry.state == "succeeded" and entry.result is not None:
            saved = {url: Path(path) for url, path in entry.files}
            missing = [
                a.url
                for a in entry.result.artifacts
                if a.url not in saved or not saved[a.url].exists()
            ]
            if missing:
                problems.append(
                    Violation("d", f"{entry_label(entry)} succeeded but misses files {missing}")
                )
    return problems
