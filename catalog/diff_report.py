"""The change report as text, Markdown or JSON: grouped by severity, like a changelog.

The differ is imported by the functions that need it: the command line reads FORMATS to
build its parser, for every command.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from .diff_params import SEVERITIES

if TYPE_CHECKING:
    from .diff import Change

Format = Literal["text", "markdown", "json"]
FORMATS: tuple[str, ...] = ("text", "markdown", "json")
_TITLES = {
    "breaking": "Breaking changes",
    "warning": "Changes in behaviour (warnings)",
    "compatible": "Compatible changes",
}


def headline(changes: Sequence[Change]) -> str:
    """`3 changes: 1 breaking, 1 warning, 1 compatible; implies a major version bump`."""
    from .diff import summary, version_bump

    if not changes:
        return "no changes"
    counts = summary(changes)
    parts = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES)
    return f"{len(changes)} change(s): {parts}; implies a {version_bump(changes)} version bump"


def render(changes: Sequence[Change], fmt: Format, *, extra: dict[str, Any] | None = None) -> str:
    """The report in one format; `extra` adds keys to the JSON document (e.g. scan results)."""
    from .diff import summary, version_bump

    if fmt == "json":
        doc: dict[str, Any] = {
            "changes": [c.to_json() for c in changes],
            "summary": summary(changes),
            "version_bump": version_bump(changes),
            **(extra or {}),
        }
        return json.dumps(doc, indent=2)  # ASCII: safe at any terminal
    if fmt == "markdown":
        return _markdown(changes)
    return _text(changes)


def _text(changes: Sequence[Change]) -> str:
    lines = [headline(changes)]
    for severity in SEVERITIES:
        group = [c for c in changes if c.severity == severity]
        if group:
            lines += ["", f"{_TITLES[severity]}:"]
            lines += [f"  - {c.where}: {c.message}" for c in group]
    return "\n".join(lines)


def _markdown(changes: Sequence[Change]) -> str:
    lines = ["# Catalog changes", "", headline(changes).capitalize() + "."]
    for severity in SEVERITIES:
        group = [c for c in changes if c.severity == severity]
        if group:
            lines += ["", f"## {_TITLES[severity]}", ""]
            lines += [f"- `{c.where}`: {_md(c.message)}" for c in group]
    return "\n".join(lines)


def _md(text: str) -> str:
    """Vendor text in a Markdown list item: no accidental emphasis, code or links."""
    for char in "\\`*_[]<>|":
        text = text.replace(char, "\\" + char)
    return text
